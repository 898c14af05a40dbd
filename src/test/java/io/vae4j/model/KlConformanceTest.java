package io.vae4j.model;

import io.vae4j.backend.Backend;
import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.kl.AutoencoderKL;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every AutoencoderKL case of the conformance suite, in every file layout it ships (ldm safetensors, diffusers
 * folder, whole checkpoint as safetensors and as a pickle), against the reference outputs at their tolerances, on
 * each fast backend: the Vector API one, and oneDNN where libdnnl is installed (skipped with a message where not).
 */
class KlConformanceTest {
    private static final VectorBackend BACKEND = new VectorBackend(2);
    private static OneDnnBackend onednn;
    private static final String[] CASES = {"kl_f8_sd", "kl_f8_flux", "kl_f8_no_mid_attn", "kl_f8_fp16",
            "kl_f8_bf16", "kl_f8_checkpoint"};

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
        if (onednn != null) {
            onednn.close();
        }
    }

    private static synchronized Backend backend(String name) {
        if (name.equals("java")) {
            return BACKEND;
        }
        Assumptions.assumeTrue(OneDnn.available(), () -> "oneDNN backend not tested: " + OneDnn.unavailableReason());
        if (onednn == null) {
            onednn = new OneDnnBackend(2);
        }
        return onednn;
    }

    @TestFactory
    List<DynamicTest> conformance() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String backend : new String[]{"java", "onednn"}) {
            for (String name : CASES) {
                Path dir = Fixtures.caseDir(name);
                for (Path model : modelPaths(dir)) {
                    String label = (backend.equals("java") ? "" : backend + " ") + name + "/" + dir.relativize(model);
                    tests.add(DynamicTest.dynamicTest(label, () -> runCase(dir, model, label, backend(backend))));
                }
            }
        }
        return tests;
    }

    /**
     * Winograd F(6x6, 3x3), not the default (slower than F(4x4) in a whole AVX2 decode, its rounding nearer the
     * tolerances), on every fixture once (one file layout each).
     */
    @TestFactory
    List<DynamicTest> winograd6x6() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : CASES) {
            Path dir = Fixtures.caseDir(name);
            Path model = modelPaths(dir).getFirst();
            String label = "java-6x6 " + name + "/" + dir.relativize(model);
            tests.add(DynamicTest.dynamicTest(label, () -> {
                try (VectorBackend tile6 = new VectorBackend(2, VectorBackend.Winograd.F6X6)) {
                    runCase(dir, model, label, tile6);
                }
            }));
        }
        return tests;
    }

    /** The scalar reference backend on the same fixtures (one small case: it is slow on purpose). */
    @TestFactory
    List<DynamicTest> scalarTwin() {
        Path dir = Fixtures.caseDir("kl_f8_no_mid_attn");
        return List.of(DynamicTest.dynamicTest("scalar kl_f8_no_mid_attn", () -> runCase(dir,
                dir.resolve("model.safetensors"), "scalar kl_f8_no_mid_attn", new ScalarBackend())));
    }

    static List<Path> modelPaths(Path dir) {
        List<Path> paths = new ArrayList<>();
        for (String f : new String[]{"model.safetensors", "diffusers", "checkpoint.safetensors", "checkpoint.ckpt"}) {
            if (Files.exists(dir.resolve(f))) {
                paths.add(dir.resolve(f));
            }
        }
        return paths;
    }

    static void runCase(Path dir, Path modelPath, String label, Backend backend) {
        Map<String, Object> manifest = Fixtures.manifest(dir);
        try (Model model = ModelLoader.load(modelPath, backend, null)) {
            AutoencoderKL vae = (AutoencoderKL) model.vae();
            for (Map<String, Object> test : Fixtures.tests(manifest)) {
                String op = (String) test.get("op");
                String what = label + " " + test.get("name");
                switch (op) {
                    case "decode" -> {
                        try (Tensor z = Fixtures.input(dir, test, "z"); Tensor image = vae.decode(z)) {
                            Fixtures.assertOutput(dir, test, "image", image, what);
                        }
                    }
                    case "encode" -> {
                        try (Tensor image = Fixtures.input(dir, test, "image");
                             Tensor moments = vae.encodeMoments(image); Moments m = vae.encode(image)) {
                            Fixtures.assertOutput(dir, test, "moments", moments, what);
                            Fixtures.assertOutput(dir, test, "mean", m.mean(), what);
                            Fixtures.assertOutput(dir, test, "logvar", m.logvar(), what);
                        }
                    }
                    case "encode_decode" -> {
                        try (Tensor image = Fixtures.input(dir, test, "image"); Moments m = vae.encode(image);
                             Tensor out = vae.decode(m.mean())) {
                            Fixtures.assertOutput(dir, test, "image_out", out, what);
                        }
                    }
                    default -> throw new AssertionError("unknown op " + op + " in " + what);
                }
            }
        }
    }
}
