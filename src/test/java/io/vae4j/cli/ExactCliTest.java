package io.vae4j.cli;

import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ./vae4j decode/encode --tiling exact: whole-image runs in scratch files, through the CLI. */
class ExactCliTest {
    @TempDir
    Path tmp;

    private Path latent(int c, int h, int w) {
        Path p = tmp.resolve("z.npy");
        try (Tensor z = Tensor.allocate(1, c, h, w)) {
            SplittableRandom r = new SplittableRandom(1);
            for (long i = 0; i < z.numel(); i++) {
                z.set(i, (float) (r.nextDouble() * 2 - 1));
            }
            Npy.write(p, z);
        }
        return p;
    }

    private Path scratchDir() throws IOException {
        return Files.createDirectories(tmp.resolve("scratch"));
    }

    private static boolean empty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    @Test
    void exactDecodeIntoA16BitTiffIsTheUntiledDecode() throws IOException {
        Path model = Fixtures.caseDir("kl_f8_sd").resolve("model.safetensors");
        Path z = latent(4, 11, 14);
        Path untiled = tmp.resolve("untiled.npy"), tif = tmp.resolve("exact.tif"), scratch = scratchDir();
        CliTest.Result r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out",
                untiled.toString(), "--raw", "--threads", "2", "--quiet");
        assertEquals(0, r.status(), r.err());
        r = TiledCliTest.runLogged("decode", "--model", model.toString(), "--latent", z.toString(), "--out",
                tif.toString(), "--raw", "--tiling", "exact", "--bit-depth", "16", "--scratch", scratch.toString(),
                "--threads", "2");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().matches("(?s).*exact decode 112x88: [0-9.]+ s, peak RSS [0-9.]+ [MG]iB, scratch [0-9.]+"
                + " [MG]iB at the peak \\(estimated [0-9.]+ [MG]iB\\).*"), r.err());
        try (Tensor want = Npy.read(untiled); Tensor got = TiledCliTest.readAll(tif)) {
            double max = 0;
            for (long i = 0; i < got.numel(); i++) {
                double w = (Math.max(-1, Math.min(1, want.get(i))) + 1) / 2;
                max = Math.max(max, Math.abs(w - got.get(i)));
            }
            assertTrue(max <= 1.01 / 65535 + 1e-5, "max diff " + max);
        }
        assertTrue(empty(scratch), "scratch files left");
    }

    @Test
    void exactEncodeWritesMomentsEqualToTheUntiledOnes() throws IOException {
        Path model = Fixtures.caseDir("kl_f8_sd").resolve("model.safetensors");
        Path png = tmp.resolve("in.png"), scratch = scratchDir();
        try (Tensor img = Tensor.allocate(1, 3, 72, 56)) {
            for (long i = 0; i < img.numel(); i++) {
                img.set(i, (float) Math.sin(i / 37.0));
            }
            Images.writePngs(png, img, PixelRange.MINUS_ONE_ONE);
        }
        Path untiled = tmp.resolve("untiled.npy"), exact = tmp.resolve("exact.npy");
        CliTest.Result r = CliTest.run("encode", "--model", model.toString(), "--image", png.toString(), "--out",
                untiled.toString(), "--moments", "--tiling", "off", "--quiet");
        assertEquals(0, r.status(), r.err());
        r = CliTest.run("encode", "--model", model.toString(), "--image", png.toString(), "--out", exact.toString(),
                "--moments", "--tiling", "exact", "--scratch", scratch.toString(), "--quiet");
        assertEquals(0, r.status(), r.err());
        try (Tensor a = Npy.read(untiled); Tensor b = Npy.read(exact)) {
            assertEquals(8, b.dim(1));
            assertTrue(TiledCliTest.maxDiff(a, b) <= 1e-4, "max diff " + TiledCliTest.maxDiff(a, b));
        }
        assertTrue(empty(scratch));
    }

    @Test
    void pastTheAttentionLimitTheUserChooses() throws IOException {
        Path model = Fixtures.caseDir("kl_f8_sd").resolve("model.safetensors");
        Path z = latent(4, 264, 256), out = tmp.resolve("big.png");
        CliTest.Result r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out",
                out.toString(), "--raw", "--tiling", "exact", "--scratch", scratchDir().toString());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().startsWith("vae4j: error: the latent has 67584 pixels, past the 65536 up to which exact"
                + " mode runs the mid-block attention over the whole image"), r.err());
        assertTrue(r.err().contains("choose --attention tiled"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void badScratchAndAttentionOptionsAreOneLine() throws IOException {
        Path model = Fixtures.caseDir("kl_f8_sd").resolve("model.safetensors");
        Path z = latent(4, 8, 8), out = tmp.resolve("o.png"), file = Files.writeString(tmp.resolve("f"), "x");
        CliTest.Result r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out",
                out.toString(), "--tiling", "exact", "--scratch", file.toString());
        assertEquals(1, r.status(), r.err());
        assertEquals("vae4j: error: --scratch " + file + ": not a directory", r.err().strip());
        r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out", out.toString(),
                "--attention", "sometimes");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().startsWith("vae4j: --attention must be auto, global, tiled or off, got 'sometimes'"));
        assertFalse(Files.exists(out));
        Path npy = tmp.resolve("img.npy"), latentOut = tmp.resolve("z-out.npy");
        try (Tensor img = Tensor.allocate(1, 3, 16, 16)) {
            Npy.write(npy, img);
        }
        r = CliTest.run("encode", "--model", model.toString(), "--image", npy.toString(), "--out",
                latentOut.toString(), "--tiling", "exact");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().startsWith("vae4j: --tiling exact reads .png or .tif images (in strips); "), r.err());
    }

    /** Over the memory budget, auto takes exact when the scratch directory has room, and fast when not. */
    @Test
    void autoChoosesExactWhenScratchHasRoom() throws IOException {
        Path model = Fixtures.caseDir("kl_f8_sd").resolve("model.safetensors");
        Path scratch = scratchDir();
        try (Model m = ModelLoader.load(model, new VectorBackend(2), null); Tensor z = Tensor.allocate(1, 4, 12, 8)) {
            for (long free : new long[]{1L << 40, 1000}) {
                TilingOptions a = CommandLine.populateCommand(new TilingOptions(), "--memory", "65m", "--scratch",
                        scratch.toString());
                Tiling t = Tiling.of(a, 8, "png", 1);
                t.freeSpace = dir -> free;
                assertTrue(t.tiled(m.vae(), z));
                Path out = tmp.resolve("auto" + free + ".png");
                String log = logged(() -> t.decode(m.vae(), z, out, "png", true));
                assertTrue(Files.exists(out));
                if (free > 1000) {
                    assertTrue(log.contains("exact decode 64x96"), log);
                } else {
                    assertTrue(log.contains("tiling auto: fast, as exact cannot run: --scratch " + scratch), log);
                    assertTrue(log.contains("tiled decode (fast)"), log);
                }
            }
        }
        assertTrue(empty(scratch));
    }

    private static String logged(Runnable work) {
        PrintStream old = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        boolean quiet = Log.quiet;
        Log.quiet = false;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            work.run();
        } finally {
            System.setErr(old);
            Log.quiet = quiet;
        }
        return log.toString(StandardCharsets.UTF_8);
    }
}
