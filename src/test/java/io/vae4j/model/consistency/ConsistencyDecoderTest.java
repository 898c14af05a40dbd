package io.vae4j.model.consistency;

import io.vae4j.backend.Backend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The consistency decoder against its fixture through the library, on the Vector API backend and the scalar
 * reference: the sampler's state after the first step (x_t512) and the image, with the reference's recorded noise;
 * and the schedule's coefficients against the reference's float32 values.
 */
class ConsistencyDecoderTest {
    private static final VectorBackend VECTOR = new VectorBackend(2);

    @AfterAll
    static void close() {
        VECTOR.close();
    }

    @Test
    void scheduleMatchesTheReferenceFloats() {
        Path dir = Fixtures.caseDir("consistency_decoder");
        @SuppressWarnings("unchecked")
        Map<String, Object> scheduler = (Map<String, Object>) ((Map<String, Object>) Fixtures.manifest(dir)
                .get("config")).get("scheduler");
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Number>> coefficients =
                (Map<String, Map<String, Number>>) scheduler.get("coefficients_float32");
        ConsistencySchedule schedule = new ConsistencySchedule();
        for (int i = 0; i < schedule.size(); i++) {
            ConsistencySchedule.Step s = schedule.step(i);
            Map<String, Number> want = coefficients.get(String.valueOf(s.timestep()));
            assertEquals(want.get("c_in").floatValue(), s.cIn(), 2e-7f * s.cIn(), "c_in");
            assertEquals(want.get("c_out").floatValue(), s.cOut(), 2e-7f * s.cOut(), "c_out");
            assertEquals(want.get("c_skip").floatValue(), s.cSkip(), 2e-7f * s.cSkip(), "c_skip");
            assertEquals(want.get("sqrt_alphas_cumprod").floatValue(), s.sqrtAlphaBar(), 2e-7f * s.sqrtAlphaBar());
            assertEquals(want.get("sqrt_one_minus_alphas_cumprod").floatValue(), s.sqrtOneMinusAlphaBar(),
                    2e-7f);
        }
        assertEquals(((Number) scheduler.get("init_noise_sigma")).floatValue(), schedule.initNoiseSigma(), 2e-7f);
    }

    @Test
    void recordedNoiseGivesTheReferenceStepsOnTheVectorBackend() {
        runDecodes(VECTOR, "java");
    }

    /** The scalar reference on the smaller case only: it is slow on purpose. */
    @Test
    void recordedNoiseGivesTheReferenceStepsOnTheScalarBackend() {
        runDecodes(new ScalarBackend(), "scalar", "decode_8x8");
    }

    private static void runDecodes(Backend backend, String label) {
        runDecodes(backend, label, null);
    }

    private static void runDecodes(Backend backend, String label, String only) {
        Path dir = Fixtures.caseDir("consistency_decoder");
        Map<String, Object> manifest = Fixtures.manifest(dir);
        try (Model model = ModelLoader.load(dir.resolve("diffusers"), backend, null)) {
            ConsistencyDecoderVae vae = (ConsistencyDecoderVae) model.vae();
            for (Map<String, Object> test : Fixtures.tests(manifest)) {
                if (!"decode_consistency".equals(test.get("op")) || only != null && !only.equals(test.get("name"))) {
                    continue;
                }
                String name = label + " " + test.get("name");
                try (Tensor z = Fixtures.input(dir, test, "z"); Tensor n0 = Fixtures.input(dir, test, "noise_0");
                     Tensor n1 = Fixtures.input(dir, test, "noise_1")) {
                    DecoderNoise noise = DecoderNoise.recorded(List.of(n0, n1));
                    Tensor[] first = new Tensor[1];
                    try (Tensor image = vae.sample(z, noise, (t, state) -> first[0] = state.copyF32())) {
                        assertEquals(1, first[0] == null ? 0 : 1, "one state between the two steps");
                        try (Tensor x512 = first[0]) {
                            Fixtures.assertOutput(dir, test, "x_t512", x512, name);
                        }
                        Fixtures.assertOutput(dir, test, "image", image, name);
                    }
                }
            }
        }
    }
}
