package io.vae4j.cli;

import io.vae4j.backend.Random4;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.WeightFile;
import io.vae4j.format.WeightFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI on TAESD files (decode, encode, info, previews) and ./vae4j convert. */
class TaesdCliTest {
    @TempDir
    Path tmp;

    private static String p(Path path) {
        return path.toString();
    }

    private static CliTest.Result run(String... args) {
        return CliTest.run(args);
    }

    private static void assertError(CliTest.Result r, int status, String... fragments) {
        assertEquals(status, r.status(), r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
        }
    }

    @Test
    void decodeIsTheSameWithAndWithoutRaw() {
        Path dir = Fixtures.caseDir("taesd_random");
        for (String raw : new String[]{"--raw", "--quiet"}) {
            Path out = tmp.resolve("image" + raw + ".npy");
            CliTest.Result r = run("decode", "--model", p(dir.resolve("taesd_decoder.pth")), "--latent",
                    p(dir.resolve("decode_12x8.z.npy")), "--out", p(out), raw, "--threads", "2", "--quiet");
            assertEquals(0, r.status(), r.err());
            try (Tensor got = Npy.read(out); Tensor want = Npy.read(dir.resolve("decode_12x8.image.npy"))) {
                assertTrue(Random4.maxAbsDiff(want, got) <= 2e-5f, "diff " + Random4.maxAbsDiff(want, got));
            }
        }
    }

    /** A ComfyUI .latent holds the full VAE's raw latents; TAESD is fed them scaled by the parent family. */
    @Test
    void comfyLatentIsScaledForTaesd() {
        Path dir = Fixtures.caseDir("taesd_random");
        Path latent = tmp.resolve("z.latent");
        try (Tensor z = Npy.read(dir.resolve("decode_8x8.z.npy")); Tensor raw = Tensor.allocate(z.shape())) {
            for (long i = 0; i < z.numel(); i++) {
                raw.set(i, z.get(i) / 0.13025f);
            }
            io.vae4j.format.latent.LatentFiles.write(latent, raw);
        }
        Path out = tmp.resolve("image.npy");
        CliTest.Result r = run("decode", "--model", p(dir.resolve("taesd_decoder.pth")), "--latent", p(latent),
                "--out", p(out), "--family", "sdxl");
        assertEquals(0, r.status(), r.err());
        try (Tensor got = Npy.read(out); Tensor want = Npy.read(dir.resolve("decode_8x8.image.npy"))) {
            assertTrue(Random4.maxAbsDiff(want, got) <= 2e-5f, "diff " + Random4.maxAbsDiff(want, got));
        }
        Path again = tmp.resolve("again.latent");
        assertEquals(0, run("encode", "--model", p(dir.resolve("taesd_encoder.pth")), "--image",
                p(dir.resolve("encode_64x64.image.npy")), "--out", p(again), "--quiet").status());
        try (var back = io.vae4j.format.latent.LatentFiles.read(again);
             Tensor want = Npy.read(dir.resolve("encode_64x64.z.npy"))) {
            Tensor scaled = Tensor.allocate(want.shape());
            for (long i = 0; i < want.numel(); i++) {
                scaled.set(i, back.tensor().get(i) * 0.18215f);
            }
            assertTrue(Random4.maxAbsDiff(want, scaled) <= 2e-5f, "diff " + Random4.maxAbsDiff(want, scaled));
        }
    }

    @Test
    void encodeAPhotoAndDecodeItToPng() {
        Path dir = Fixtures.caseDir("taef2");
        Path z = tmp.resolve("z.npy"), png = tmp.resolve("out.png");
        CliTest.Result r = run("encode", "--model", p(dir.resolve("taef2_encoder.safetensors")), "--image",
                p(dir.resolve("photo_rocket_96x64.image.npy")), "--out", p(z), "--quiet");
        assertEquals(0, r.status(), r.err());
        try (Tensor got = Npy.read(z); Tensor want = Npy.read(dir.resolve("photo_rocket_96x64.z.npy"))) {
            assertTrue(Random4.maxAbsDiff(want, got) <= 5e-5f, "diff " + Random4.maxAbsDiff(want, got));
        }
        r = run("decode", "--model", p(dir.resolve("taef2_decoder.pth")), "--latent", p(z), "--out", p(png),
                "--quiet");
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.isRegularFile(png));
    }

    @Test
    void infoOnTaesdFiles() {
        Path dir = Fixtures.caseDir("taef2");
        CliTest.Result r = run("info", p(dir.resolve("taef2_decoder.pth")));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("TAESD taef2 (z=32, 8x, mid-block GroupNorm) decoder"), r.out());
        assertTrue(r.out().contains("decoder 1,338,499; total 1,338,499"), r.out());
        assertTrue(r.out().contains("family:        taesd (scale 1.0;"), r.out());
        assertTrue(r.out().contains("images in [0, 1]") && r.out().contains("F16"), r.out());
        r = run("info", p(Fixtures.caseDir("taesana_encoder").resolve("taesana_encoder.pth")));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("TAESD taesana (z=32, 32x) encoder") && r.out().contains("1,256,288"), r.out());
        assertTrue(r.out().contains("1/32 of the image size"), r.out());
    }

    @Test
    void previewSizes() {
        Path dir = Fixtures.caseDir("taef2");
        String model = p(dir.resolve("taef2_decoder.safetensors"));
        String z = p(dir.resolve("photo_chelsea_200x304.z.npy"));
        for (int s : new int[]{1, 2, 4, 8}) {
            Path out = tmp.resolve("preview" + s + ".npy");
            CliTest.Result r = run("decode", "--model", model, "--latent", z, "--out", p(out), "--preview-scale",
                    String.valueOf(s), "--quiet");
            assertEquals(0, r.status(), r.err());
            try (Tensor image = Npy.read(out)) {
                assertArrayEquals(new int[]{1, 3, 200 / s, 304 / s}, image.shape());
            }
        }
        assertEquals(0, run("decode", "--model", model, "--latent", z, "--out", p(tmp.resolve("p.png")),
                "--preview-scale", "8", "--quiet").status());
    }

    @Test
    void previewErrors() {
        Path kl = Fixtures.caseDir("kl_f8_sd"), taef2 = Fixtures.caseDir("taef2");
        assertError(run("decode", "--model", p(kl.resolve("model.safetensors")), "--latent",
                p(kl.resolve("decode_8x8.z.npy")), "--out", p(tmp.resolve("x.png")), "--preview-scale", "2"),
                1, "--preview-scale needs a TAESD decoder", "AutoencoderKL");
        String z = p(taef2.resolve("photo_rocket_96x64.z.npy"));
        for (String bad : new String[]{"3", "16", "0"}) {
            assertError(run("decode", "--model", p(taef2.resolve("taef2_decoder.pth")), "--latent", z, "--out",
                    p(tmp.resolve("x.png")), "--preview-scale", bad), 2, "--preview-scale must be 1, 2, 4 or 8");
        }
        assertError(run("decode", "--model", p(taef2.resolve("taef2_encoder.pth")), "--latent", z, "--out",
                p(tmp.resolve("x.png"))), 1, "taef2_encoder.pth", "no decoder");
        assertError(run("decode", "--model", p(taef2.resolve("taef2_decoder.pth")), "--latent",
                p(kl.resolve("decode_8x8.z.npy")), "--out", p(tmp.resolve("x.png"))), 1, "4 channels", "expects 32");
        assertFalse(Files.exists(tmp.resolve("x.png")));
    }

    @Test
    void convertPthToSafetensorsKeepsEveryTensor() {
        Path dir = Fixtures.caseDir("taef2");
        for (String half : new String[]{"encoder", "decoder"}) {
            Path out = tmp.resolve(half + ".safetensors");
            CliTest.Result r = run("convert", p(dir.resolve("taef2_" + half + ".pth")), p(out));
            assertEquals(0, r.status(), r.err());
            assertTrue(r.out().contains("79 tensors (79 F16)"), r.out());
            try (WeightFile got = WeightFiles.open(out);
                 WeightFile want = WeightFiles.open(dir.resolve("taef2_" + half + ".safetensors"))) {
                assertEquals(want.tensors().keySet(), got.tensors().keySet());
                want.tensors().forEach((name, t) -> {
                    Tensor g = got.tensors().get(name);
                    assertEquals(t.dtype(), g.dtype(), name);
                    assertArrayEquals(t.shape(), g.shape(), name);
                    assertEquals(-1L, t.data().mismatch(g.data()), name + " bytes");
                });
            }
        }
    }

    @Test
    void convertWholeCheckpointAndLoadIt() {
        Path dir = Fixtures.caseDir("kl_f8_checkpoint");
        Path out = tmp.resolve("checkpoint.safetensors");
        CliTest.Result conv = run("convert", p(dir.resolve("checkpoint.ckpt")), p(out));
        assertEquals(0, conv.status(), conv.err());
        String printed = conv.out();
        try (WeightFile in = WeightFiles.open(dir.resolve("checkpoint.ckpt")); WeightFile got = WeightFiles.open(out)) {
            assertEquals(in.tensors().keySet(), got.tensors().keySet());
            assertTrue(printed.contains(in.tensors().size() + " tensors"), printed);
            if (!in.skipped().isEmpty()) {
                assertTrue(printed.contains("skipped " + in.skipped().size()), printed);
                in.skipped().keySet().stream().limit(20).forEach(k -> assertTrue(printed.contains(k), printed));
            }
        }
        Path image = tmp.resolve("image.npy");
        CliTest.Result r = run("decode", "--model", p(out), "--latent", p(dir.resolve("decode_8x8.z.npy")), "--out",
                p(image), "--raw", "--quiet");
        assertEquals(0, r.status(), r.err());
        try (Tensor got = Npy.read(image); Tensor want = Npy.read(dir.resolve("decode_8x8.image.npy"));
             Model m = ModelLoader.load(out, new ScalarBackend(), null)) {
            assertTrue(Random4.maxAbsDiff(want, got) <= 5e-5f, "diff " + Random4.maxAbsDiff(want, got));
            assertEquals("ldm under 'first_stage_model.'", m.info().layout());
        }
    }

    @Test
    void convertErrors() {
        Path dir = Fixtures.caseDir("taef2");
        assertError(run("convert", p(dir.resolve("taef2_encoder.pth"))), 2, "an input and an output");
        assertError(run("convert", p(dir.resolve("taef2_encoder.pth")), p(tmp.resolve("out.pth"))), 1,
                "unsupported extension '.pth'");
        assertError(run("convert", p(tmp.resolve("missing.pth")), p(tmp.resolve("out.safetensors"))), 1,
                "missing.pth", "no such file");
        assertFalse(Files.exists(tmp.resolve("out.safetensors")));
    }
}
