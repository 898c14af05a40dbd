package io.vae4j.cli;

import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Fixtures;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.ImageStripReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ./vae4j decode with --tile / --tiling / --memory / --bit-depth, streamed PNG and TIFF outputs. */
class TiledCliTest {
    @TempDir
    Path tmp;

    private Path latent(int c, int h, int w) {
        Tensor z = Tensor.allocate(1, c, h, w);
        SplittableRandom r = new SplittableRandom(1);
        for (long i = 0; i < z.numel(); i++) {
            z.set(i, (float) (r.nextDouble() * 2 - 1));
        }
        Path p = tmp.resolve("z.npy");
        Npy.write(p, z);
        z.close();
        return p;
    }

    /** Runs the CLI with Log's notes (which go to System.err) captured into the result's err. */
    static CliTest.Result runLogged(String... args) {
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        boolean quiet = Log.quiet;
        Log.quiet = false;
        System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            CliTest.Result r = CliTest.run(args);
            return new CliTest.Result(r.status(), r.out(), r.err() + log.toString(
                    java.nio.charset.StandardCharsets.UTF_8));
        } finally {
            System.setErr(old);
            Log.quiet = quiet;
        }
    }

    static double maxDiff(Tensor a, Tensor b) {
        double m = 0;
        for (long i = 0; i < a.numel(); i++) {
            m = Math.max(m, Math.abs(a.get(i) - b.get(i)));
        }
        return m;
    }

    static Tensor readAll(Path file) {
        try (ImageStripReader r = ImageStripReader.open(file, PixelRange.ZERO_ONE)) {
            Tensor t = Tensor.allocate(1, 3, r.height(), r.width());
            r.readRows(t);
            return t;
        }
    }

    @Test
    void taesdTiledPngAndTiffMatchTheUntiledDecode() {
        Path model = Fixtures.caseDir("taesd_random").resolve("taesd_decoder.safetensors");
        Path z = latent(4, 20, 28);
        Path untiled = tmp.resolve("untiled.png");
        CliTest.Result r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out",
                untiled.toString(), "--tiling", "off", "--threads", "2", "--quiet");
        assertEquals(0, r.status(), r.err());
        for (String name : new String[]{"tiled.png", "tiled.tif", "tiled16.png"}) {
            Path out = tmp.resolve(name);
            r = runLogged("decode", "--model", model.toString(), "--latent", z.toString(), "--out",
                    out.toString(), "--tile", "64", "--threads", "2", "--bit-depth",
                    name.contains("16") ? "16" : "8");
            assertEquals(0, r.status(), r.err());
            assertTrue(r.err().contains("tiled decode"), r.err());
            try (Tensor want = Images.read(untiled, PixelRange.ZERO_ONE); Tensor got = readAll(out)) {
                assertEquals(want.numel(), got.numel());
                // Same pixels up to one 8-bit level (float noise at a rounding edge), a 16-bit one within that.
                assertTrue(maxDiff(want, got) <= 1.01 / 255, name + ": " + maxDiff(want, got));
            }
        }
    }

    @Test
    void memoryBudgetChoosesTiling() throws IOException {
        Path model = Fixtures.caseDir("taesd_random").resolve("taesd_decoder.safetensors");
        Path z = latent(4, 16, 16);
        // TAESD's estimate for 640x640 is 4 x 64 channels x 640² x 4 bytes = 400 MiB for the last stage, 533 MiB
        // with the earlier ones: tiled under 300m, not 600m.
        try (var m = io.vae4j.model.ModelLoader.load(model, new io.vae4j.backend.scalar.ScalarBackend(), null);
             Tensor big = Tensor.allocate(1, 4, 80, 80)) {
            for (String[] c : new String[][]{{"300m", "true"}, {"600m", "false"}}) {
                TilingOptions a = CommandLine.populateCommand(new TilingOptions(), "--memory", c[0]);
                assertEquals(Boolean.parseBoolean(c[1]), Tiling.of(a, 8, "png", 1).tiled(m.vae(), big), c[0]);
            }
            TilingOptions off = CommandLine.populateCommand(new TilingOptions(), "--memory", "1m", "--tiling", "off");
            assertFalse(Tiling.of(off, 8, "png", 1).tiled(m.vae(), big));
        }
        CliTest.Result r;

        Path exact = tmp.resolve("exact.png");
        r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out", exact.toString(),
                "--tiling", "exact", "--tile", "64");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--tile 64 with --tiling exact"), r.err());
        r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out", exact.toString(),
                "--tile", "60");
        assertEquals(2, r.status(), r.err());
        r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out", exact.toString(),
                "--memory", "lots");
        assertEquals(2, r.status(), r.err());
        assertFalse(Files.exists(exact));
        try (Stream<Path> files = Files.list(tmp)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith(".")), "temporary file left");
        }
    }

    @Test
    void taesdTiledEncodeMatchesUntiled() {
        Path model = Fixtures.caseDir("taesd_random").resolve("taesd_encoder.safetensors");
        Path png = tmp.resolve("in.png");
        try (Tensor img = Tensor.allocate(1, 3, 200, 136)) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < 200; y++) {
                    for (int x = 0; x < 136; x++) {
                        img.set(((long) c * 200 + y) * 136 + x, (float) (0.5 + 0.4 * Math.sin(x / 9.0 + c)
                                * Math.cos(y / 13.0)));
                    }
                }
            }
            Images.writePngs(png, img, PixelRange.ZERO_ONE);
        }
        Path untiled = tmp.resolve("untiled.npy"), tiled = tmp.resolve("tiled.npy");
        CliTest.Result r = CliTest.run("encode", "--model", model.toString(), "--image", png.toString(), "--out",
                untiled.toString(), "--tiling", "off", "--threads", "2", "--quiet");
        assertEquals(0, r.status(), r.err());
        r = CliTest.run("encode", "--model", model.toString(), "--image", png.toString(), "--out", tiled.toString(),
                "--tile", "64", "--threads", "2", "--quiet");
        assertEquals(0, r.status(), r.err());
        try (Tensor a = Npy.read(untiled); Tensor b = Npy.read(tiled)) {
            assertTrue(maxDiff(a, b) < 1e-4, "max abs diff " + maxDiff(a, b));
        }
        r = CliTest.run("encode", "--model", model.toString(), "--image", png.toString(), "--out", tiled.toString(),
                "--tile", "64", "--moments");
        assertEquals(1, r.status(), r.err());
    }

    /** AutoencoderKL through the CLI: feathered fast tiles into a 16-bit BigTIFF, near the untiled decode. */
    @Test
    void klTiledTiff() {
        Path model = Fixtures.caseDir("kl_f8_sd").resolve("model.safetensors");
        Path z = latent(4, 24, 20);
        Path untiled = tmp.resolve("untiled.npy"), tif = tmp.resolve("tiled.tiff");
        CliTest.Result r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out",
                untiled.toString(), "--raw", "--threads", "2", "--quiet");
        assertEquals(0, r.status(), r.err());
        r = CliTest.run("decode", "--model", model.toString(), "--latent", z.toString(), "--out", tif.toString(),
                "--raw", "--tile", "96", "--bit-depth", "16", "--threads", "2", "--quiet");
        assertEquals(0, r.status(), r.err());
        try (Tensor want = Npy.read(untiled); ImageStripReader reader = ImageStripReader.open(tif,
                PixelRange.MINUS_ONE_ONE)) {
            assertEquals(want.dim(2), reader.height());
            assertEquals(want.dim(3), reader.width());
            try (Tensor got = reader.readRows(reader.height())) {
                double se = 0;
                for (long i = 0; i < got.numel(); i++) {
                    double d = Math.max(-1, Math.min(1, want.get(i))) - got.get(i);
                    se += d * d;
                }
                double psnr = 10 * Math.log10(4 / (se / got.numel()));
                // Measured 22.9 dB (random latent, 2x2 tiles); a loose bound: TiledDecoderTest measures accuracy.
                System.err.printf("kl_f8_sd CLI fast tiles, random latent: PSNR %.2f dB%n", psnr);
                assertTrue(psnr > 10, "PSNR " + psnr);
            }
        }
    }

    @Test
    void sizes() {
        assertEquals(512L << 20, Tiling.parseSize("512m"));
        assertEquals(2L << 30, Tiling.parseSize("2g"));
        assertEquals(3L << 29, Tiling.parseSize("1.5G"));
        assertEquals(1000, Tiling.parseSize("1000"));
    }
}
