package io.vae4j.model.taesd;

import io.vae4j.backend.Backend;
import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Moments;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every TAESD case of the conformance suite (random TAESD, the real TAEF2 on photos, the real TAESana encoder), in
 * every file format it ships (.pth and .safetensors, separate encoder and decoder files), against the reference
 * outputs at their tolerances; for the photos, the reconstruction PSNR next to the one the manifest states.
 */
class TaesdConformanceTest {
    private static final VectorBackend BACKEND = new VectorBackend(2);
    /** The oneDNN backend (its blocked layout between layers), made on first use where oneDNN is installed. */
    private static OneDnnBackend onednn;
    static final String[] CASES = {"taesd_random", "taef2", "taesana_encoder"};

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
        if (onednn != null) {
            onednn.close();
        }
    }

    private static synchronized Backend onednn() {
        assumeTrue(OneDnn.available(), () -> "oneDNN backend not tested: " + OneDnn.unavailableReason());
        if (onednn == null) {
            onednn = new OneDnnBackend(2);
        }
        return onednn;
    }

    @TestFactory
    List<DynamicTest> conformance() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : CASES) {
            Path dir = Fixtures.caseDir(name);
            for (String ext : new String[]{"pth", "safetensors"}) {
                Path encoder = file(dir, name, "encoder", ext), decoder = file(dir, name, "decoder", ext);
                if (encoder != null || decoder != null) {
                    String label = name + "/*." + ext;
                    tests.add(DynamicTest.dynamicTest(label, () -> runCase(dir, encoder, decoder, label)));
                    if (ext.equals("safetensors")) {
                        tests.add(DynamicTest.dynamicTest("onednn " + label,
                                () -> runCase(dir, encoder, decoder, "onednn " + label, onednn())));
                    }
                }
            }
        }
        return tests;
    }

    /** {@code <case>/<model>_<half>.<ext>}, the model named as the case without its suffix; null when absent. */
    static Path file(Path dir, String caseName, String half, String ext) {
        String model = caseName.replace("_random", "").replace("_encoder", "");
        Path p = dir.resolve(model + "_" + half + "." + ext);
        return Files.isRegularFile(p) ? p : null;
    }

    static void runCase(Path dir, Path encoderFile, Path decoderFile, String label) {
        runCase(dir, encoderFile, decoderFile, label, BACKEND);
    }

    static void runCase(Path dir, Path encoderFile, Path decoderFile, String label, Backend backend) {
        Map<String, Object> manifest = Fixtures.manifest(dir);
        try (Model enc = encoderFile == null ? null : ModelLoader.load(encoderFile, backend, null);
             Model dec = decoderFile == null ? null : ModelLoader.load(decoderFile, backend, null)) {
            if (enc != null) {
                assertTrue(enc.vae().canEncode() && !enc.vae().canDecode(), "encoder file");
            }
            if (dec != null) {
                assertTrue(dec.vae().canDecode() && !dec.vae().canEncode(), "decoder file");
            }
            run(dir, manifest, enc == null ? null : (Taesd) enc.vae(), dec == null ? null : (Taesd) dec.vae(), label);
        }
    }

    /** Runs every test of a case's manifest on an encoder and a decoder (either may be the same model). */
    static void run(Path dir, Map<String, Object> manifest, Taesd encoder, Taesd decoder, String label) {
        for (Map<String, Object> test : Fixtures.tests(manifest)) {
            String op = (String) test.get("op");
            String what = label + " " + test.get("name");
            switch (op) {
                case "decode" -> {
                    try (Tensor z = Fixtures.input(dir, test, "z"); Tensor image = decoder.decode(z)) {
                        Fixtures.assertOutput(dir, test, "image", image, what);
                    }
                }
                case "encode" -> {
                    try (Tensor image = Fixtures.input(dir, test, "image"); Moments m = encoder.encode(image)) {
                        assertEquals(null, m.logvar(), "TAESD encoders are deterministic");
                        Fixtures.assertOutput(dir, test, "z", m.mean(), what);
                        if (Fixtures.section(test, "outputs").containsKey("z_u01")) {
                            try (Tensor u01 = scaleLatents(m.mean())) {
                                Fixtures.assertOutput(dir, test, "z_u01", u01, what);
                            }
                        }
                    }
                }
                case "encode_decode" -> {
                    try (Tensor image = Fixtures.input(dir, test, "image"); Moments m = encoder.encode(image);
                         Tensor out = decoder.decode(m.mean())) {
                        if (Fixtures.section(test, "outputs").containsKey("z")) {
                            Fixtures.assertOutput(dir, test, "z", m.mean(), what);
                        }
                        Fixtures.assertOutput(dir, test, "image_out", out, what);
                        if (test.get("psnr_db") instanceof Number stated) {
                            double psnr = psnr(out, image);
                            System.out.printf("%-55s PSNR %.3f dB (manifest: %.3f dB)%n", what, psnr,
                                    stated.doubleValue());
                            assertEquals(stated.doubleValue(), psnr, 0.01, what + " PSNR");
                        }
                    }
                }
                default -> throw new AssertionError("unknown op " + op + " in " + what);
            }
        }
    }

    /** taesd.py's TAESD.scale_latents: clamp(z / 6 + 0.5, 0, 1), the "latent as image" form. */
    static Tensor scaleLatents(Tensor z) {
        Tensor out = Tensor.allocate(z.shape());
        for (long i = 0; i < z.numel(); i++) {
            out.set(i, Math.min(1f, Math.max(0f, z.get(i) / 6f + 0.5f)));
        }
        return out;
    }

    /** PSNR in dB of {@code image} clamped to [0, 1] against {@code reference} (both [0, 1] images). */
    static double psnr(Tensor image, Tensor reference) {
        assertEquals(reference.numel(), image.numel());
        double se = 0;
        for (long i = 0; i < image.numel(); i++) {
            double d = Math.min(1, Math.max(0, image.get(i))) - reference.get(i);
            se += d * d;
        }
        return 10 * Math.log10(image.numel() / se);
    }
}
