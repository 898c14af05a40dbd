package io.vae4j.cli;

import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.format.WeightFile;
import io.vae4j.format.WeightFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.format.torch.TestCheckpoints;
import io.vae4j.model.Fixtures;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The VQ autoencoder (vq_f4 conformance case) through the CLI: every test of the case on every backend, from the
 * shipped safetensors and from a training checkpoint (.ckpt with a state_dict and loss.* tensors to ignore); info;
 * and one clear line for each bad input.
 */
class VqCliTest {
    private static final String CASE = "vq_f4";

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    private static Path checkpoint;

    private static String p(Path path) {
        return path.toString();
    }

    /** The fixture's weights as a Lightning checkpoint, with a discriminator's tensors under loss. beside them. */
    @BeforeAll
    static void makeCheckpoint() throws IOException {
        Path dir = Fixtures.caseDir(CASE);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (WeightFile f = WeightFiles.open(dir.resolve("model.safetensors"));
             Tensor disc = Tensor.of(new float[]{1, 2, 3, 4}, 4)) {
            tensors.putAll(f.tensors());
            tensors.put("loss.discriminator.main.0.weight", disc);
            tensors.put("loss.logvar", disc.slice0(0, 1));
            checkpoint = TestCheckpoints.writeStateDict(shared, "vq_f4.ckpt", tensors);
        }
    }

    private static Path model(String layout) {
        return layout.equals("ckpt") ? checkpoint : Fixtures.caseDir(CASE).resolve("model.safetensors");
    }

    @TestFactory
    List<DynamicTest> conformance() {
        Path dir = Fixtures.caseDir(CASE);
        Map<String, Object> manifest = Fixtures.manifest(dir);
        List<DynamicTest> tests = new ArrayList<>();
        for (String backend : new String[]{"java", "scalar", "onednn"}) {
            for (String layout : new String[]{"safetensors", "ckpt"}) {
                for (Map<String, Object> test : Fixtures.tests(manifest)) {
                    String label = backend + " " + CASE + "/" + layout + " " + test.get("name");
                    tests.add(DynamicTest.dynamicTest(label, () -> {
                        if (backend.equals("onednn")) {
                            assumeTrue(OneDnn.available(), () -> "oneDNN not tested: " + OneDnn.unavailableReason());
                        }
                        Path work = Files.createTempDirectory(tmpRoot(), "vq");
                        if (test.get("op").equals("encode_quantize_decode")) {
                            encodeQuantizeDecode(dir, test, model(layout), backend, work, label);
                        } else {
                            decodeIndices(dir, test, model(layout), backend, work, label);
                        }
                    }));
                }
            }
        }
        return tests;
    }

    private Path tmpRoot() {
        return tmp;
    }

    private static CliTest.Result ok(String... args) {
        CliTest.Result r = CliTest.run(args);
        assertEquals(0, r.status(), r.err());
        return r;
    }

    private static void assertIndices(Path expected, Path actual) {
        Npy.Int64Array want = Npy.readInt64(expected), got = Npy.readInt64(actual);
        assertArrayEquals(want.shape(), got.shape());
        assertArrayEquals(want.values(), got.values(), "codebook indices");
    }

    /** encode writes quant and the indices; decode of h quantizes first; decode of quant --no-quantize too. */
    private static void encodeQuantizeDecode(Path dir, Map<String, Object> test, Path model, String backend, Path work,
                                             String label) {
        String image = p(dir.resolve("encode_32x32.image.npy"));
        Path quant = work.resolve("quant.npy"), indices = work.resolve("indices.npy");
        ok("encode", "--model", p(model), "--image", image, "--out", p(quant), "--indices", p(indices),
                "--backend", backend, "--threads", "2", "--quiet");
        try (Tensor q = Npy.read(quant)) {
            Fixtures.assertOutput(dir, test, "quant", q, label);
        }
        assertIndices(dir.resolve("encode_32x32.indices.npy"), indices);
        Path fromH = work.resolve("from_h.npy"), fromQuant = work.resolve("from_quant.npy");
        ok("decode", "--model", p(model), "--latent", p(dir.resolve("encode_32x32.h.npy")), "--out", p(fromH),
                "--backend", backend, "--threads", "2", "--quiet");
        ok("decode", "--model", p(model), "--latent", p(quant), "--no-quantize", "--out", p(fromQuant),
                "--backend", backend, "--threads", "2", "--quiet");
        try (Tensor a = Npy.read(fromH); Tensor b = Npy.read(fromQuant)) {
            Fixtures.assertOutput(dir, test, "image_out", a, label + " (decode h)");
            Fixtures.assertOutput(dir, test, "image_out", b, label + " (decode quant --no-quantize)");
        }
    }

    /** decode --indices, and decode of the stored quant (which quantizes to itself). */
    private static void decodeIndices(Path dir, Map<String, Object> test, Path model, String backend, Path work,
                                      String label) {
        Path fromCodes = work.resolve("codes.npy"), fromQuant = work.resolve("quant.npy");
        ok("decode", "--model", p(model), "--indices", p(dir.resolve("decode_8x8.indices.npy")), "--out",
                p(fromCodes), "--backend", backend, "--threads", "2", "--quiet");
        ok("decode", "--model", p(model), "--latent", p(dir.resolve("decode_8x8.quant.npy")), "--out",
                p(fromQuant), "--backend", backend, "--threads", "2", "--quiet");
        try (Tensor a = Npy.read(fromCodes); Tensor b = Npy.read(fromQuant)) {
            Fixtures.assertOutput(dir, test, "image", a, label + " (--indices)");
            Fixtures.assertOutput(dir, test, "image", b, label + " (--latent quant)");
        }
    }

    /**
     * A latent far from the codebook, quantized before tiling: exact tiles give the untiled image up to 16-bit
     * rounding, fast tiles an approximation near it.
     */
    @Test
    void tiledDecodeQuantizesAsTheUntiledDoes() {
        String model = p(model("safetensors"));
        Path z = tmp.resolve("z.npy"), untiled = tmp.resolve("untiled.npy");
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        try (Tensor t = Tensor.allocate(1, 3, 40, 48)) {
            for (long i = 0; i < t.numel(); i++) {
                t.set(i, (float) random.nextGaussian());
            }
            Npy.write(z, t);
        }
        ok("decode", "--model", model, "--latent", p(z), "--out", p(untiled), "--threads", "2", "--quiet");
        for (String mode : new String[]{"exact", "fast"}) {
            Path tif = tmp.resolve(mode + ".tif");
            List<String> args = new ArrayList<>(List.of("decode", "--model", model, "--latent", p(z), "--out", p(tif),
                    "--tiling", mode, "--bit-depth", "16", "--threads", "2", "--quiet"));
            if (mode.equals("fast")) {
                args.addAll(List.of("--tile", "64"));
            }
            ok(args.toArray(String[]::new));
            try (Tensor want = Npy.read(untiled);
                 io.vae4j.tiles.io.ImageStripReader reader = io.vae4j.tiles.io.ImageStripReader.open(tif,
                         io.vae4j.format.image.PixelRange.MINUS_ONE_ONE);
                 Tensor got = reader.readRows(reader.height())) {
                assertEquals(want.numel(), got.numel());
                double se = 0, max = 0;
                for (long i = 0; i < got.numel(); i++) {
                    double d = Math.abs(Math.max(-1, Math.min(1, want.get(i))) - got.get(i));
                    se += d * d;
                    max = Math.max(max, d);
                }
                double psnr = 10 * Math.log10(4 / (se / got.numel()));
                System.err.printf("vq_f4 %s tiles, random latent: max |diff| %.2e, PSNR %.1f dB%n", mode, max, psnr);
                assertTrue(mode.equals("fast") ? psnr > 10 : max <= 2.0 / 65535 + 1e-4, mode + ": " + max);
            }
        }
    }

    @Test
    void infoShowsTheCodebookAndIgnoresTheLoss() {
        for (String layout : new String[]{"safetensors", "ckpt"}) {
            CliTest.Result r = CliTest.run("info", p(model(layout)));
            assertEquals(0, r.status(), r.err());
            assertTrue(r.out().contains("VQModel"), r.out());
            assertTrue(r.out().contains("codebook 32 x 3"), r.out());
            assertTrue(r.out().contains("codebook 96;"), r.out());
            assertTrue(r.out().contains("total 291,454"), r.out());
            assertTrue(r.out().contains("3 channels, 1/4 of the image size"), r.out());
            assertTrue(r.out().contains("scale 1.0; VQ autoencoder"), r.out());
        }
    }

    /** A latent-diffusion checkpoint: the VQ first stage under first_stage_model., its loss and a UNet beside it. */
    @Test
    void wholeCheckpointDecodesItsFirstStage() {
        Path dir = Fixtures.caseDir(CASE);
        Path whole = tmp.resolve("ldm.safetensors"), out = tmp.resolve("image.npy");
        try (WeightFile f = WeightFiles.open(dir.resolve("model.safetensors"));
             Tensor unet = Tensor.of(new float[]{1, 2}, 2)) {
            java.util.SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("model.diffusion_model.input_blocks.0.0.bias", unet);
            f.tensors().forEach((name, t) -> tensors.put("first_stage_model." + name, t));
            tensors.put("first_stage_model.loss.logvar", unet);
            io.vae4j.format.safetensors.SafetensorsFile.write(whole, tensors, Map.of());
        }
        CliTest.Result info = ok("info", p(whole));
        assertTrue(info.out().contains("ldm VQModel under 'first_stage_model.'"), info.out());
        ok("decode", "--model", p(whole), "--indices", p(dir.resolve("decode_8x8.indices.npy")), "--out", p(out),
                "--threads", "2", "--quiet");
        Map<String, Object> test = Fixtures.tests(Fixtures.manifest(dir)).get(1);
        try (Tensor image = Npy.read(out)) {
            Fixtures.assertOutput(dir, test, "image", image, "java " + CASE + "/first_stage_model. decode_8x8");
        }
    }

    private void assertFails(CliTest.Result r, String... fragments) {
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().startsWith("vae4j: error: "), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
        }
    }

    @Test
    void badIndicesNameWhatWasExpected() throws IOException {
        String model = p(model("safetensors"));
        Path out = tmp.resolve("x.npy");
        Path range = tmp.resolve("range.npy");
        long[] codes = new long[16];
        codes[5] = 32;
        Npy.writeInt64(range, new Npy.Int64Array(new int[]{1, 4, 4}, codes));
        assertFails(CliTest.run("decode", "--model", model, "--indices", p(range), "--out", p(out)),
                "range.npy", "code 32 at [0, 1, 1]", "codebook has 32 entries");
        codes[5] = -1;
        Npy.writeInt64(range, new Npy.Int64Array(new int[]{1, 4, 4}, codes));
        assertFails(CliTest.run("decode", "--model", model, "--indices", p(range), "--out", p(out)),
                "code -1", "codebook has 32 entries");
        Path floats = tmp.resolve("floats.npy");
        Npy.write(floats, Tensor.allocate(1, 4, 4));
        assertFails(CliTest.run("decode", "--model", model, "--indices", p(floats), "--out", p(out)),
                "floats.npy", "'<f4'", "'<i8'");
        Path shape = tmp.resolve("shape.npy");
        Npy.writeInt64(shape, new Npy.Int64Array(new int[]{1, 1, 4, 4}, new long[16]));
        assertFails(CliTest.run("decode", "--model", model, "--indices", p(shape), "--out", p(out)),
                "shape.npy", "[1, 1, 4, 4]", "expected [B, H, W]");
        assertFalse(Files.exists(out));
    }

    @Test
    void vqOptionsOnOtherModelsAndWrongLatentsAreOneLine() {
        Path kl = Fixtures.caseDir("kl_f8_sd");
        Path vq = Fixtures.caseDir(CASE);
        Path z = tmp.resolve("z.npy"), codes = tmp.resolve("codes.npy");
        assertFails(CliTest.run("encode", "--model", p(kl.resolve("model.safetensors")), "--image",
                        p(kl.resolve("encode_64x64.image.npy")), "--out", p(z), "--indices", p(codes)),
                "--indices needs a VQ autoencoder", "AutoencoderKL");
        assertFalse(Files.exists(z) || Files.exists(codes));
        assertFails(CliTest.run("decode", "--model", p(kl.resolve("model.safetensors")), "--indices",
                p(vq.resolve("decode_8x8.indices.npy")), "--out", p(tmp.resolve("x.npy"))),
                "--indices needs a VQ autoencoder");
        assertFails(CliTest.run("decode", "--model", p(kl.resolve("model.safetensors")), "--latent",
                p(kl.resolve("decode_8x8.z.npy")), "--no-quantize", "--out", p(tmp.resolve("x.npy"))),
                "--no-quantize needs a VQ autoencoder");
        assertFails(CliTest.run("decode", "--model", p(vq.resolve("model.safetensors")), "--latent",
                p(kl.resolve("decode_8x8.z.npy")), "--out", p(tmp.resolve("x.npy"))), "4 channels", "expects 3");
        assertFails(CliTest.run("encode", "--model", p(vq.resolve("model.safetensors")), "--image",
                p(vq.resolve("encode_32x32.image.npy")), "--out", p(z), "--indices", p(tmp.resolve("c.png"))),
                "c.png", "unsupported extension", ".npy");
        assertEquals(2, CliTest.run("decode", "--model", p(vq.resolve("model.safetensors")), "--latent",
                p(vq.resolve("decode_8x8.quant.npy")), "--indices", p(vq.resolve("decode_8x8.indices.npy")),
                "--out", p(tmp.resolve("x.npy"))).status());
    }
}
