package io.vae4j.model.nn;

import io.vae4j.backend.Backend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Vae;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Recorded and frozen GroupNorm statistics on the conformance kl_f8_sd model. */
class NormStatsTest {
    /**
     * F(2x2) Winograd: the 2e-5 bounds below are about float rounding of the statistics. F(4x4)'s own rounding,
     * different for two slightly different inputs, alone reaches ~3e-5 here (inside the fixtures' atol, not these).
     */
    private static final VectorBackend VECTOR = new VectorBackend(2, VectorBackend.Winograd.F2X2);

    @AfterAll
    static void close() {
        VECTOR.parallel().close();
    }

    static Tensor randomLatent(int c, int h, int w, long seed) {
        Tensor z = Tensor.allocate(1, c, h, w);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < z.numel(); i++) {
            z.set(i, (float) (r.nextDouble() * 2 - 1) * 1.5f);
        }
        return z;
    }

    @Test
    void frozenOwnStatisticsReproduceTheDecode() {
        check(VECTOR, 16, 12);
    }

    @Test
    void scalarBackendHonoursFrozenStatistics() {
        check(new ScalarBackend(), 4, 6);
    }

    private static void check(Backend backend, int h, int w) {
        Path model = Fixtures.caseDir("kl_f8_sd").resolve("model.safetensors");
        try (Model m = ModelLoader.load(model, backend, null)) {
            Vae vae = m.vae();
            try (Tensor z = randomLatent(4, h, w, 7); Tensor plain = vae.decode(z)) {
                NormStats stats = new NormStats();
                try (Tensor recorded = stats.record(() -> vae.decode(z));
                     Tensor frozen = stats.frozen(() -> vae.decode(z))) {
                    assertTrue(stats.size() > 10, "GroupNorm layers recorded: " + stats.size());
                    // Recording normalises with the statistics it records, so freezing them repeats the decode:
                    // bit-exactly on the scalar backend; the vector backend's decodes repeat only up to ~1e-6.
                    double repeat = backend instanceof ScalarBackend ? 0 : 2e-5;
                    assertEquals(0, maxAbsDiff(recorded, frozen), repeat);
                    // And the recorded statistics are the input's own, up to float rounding.
                    assertEquals(0, maxAbsDiff(plain, frozen), 2e-5);
                }
                // Outside a scope nothing has changed (the vector backend's decodes repeat only up to ~1e-6).
                try (Tensor again = vae.decode(z)) {
                    assertEquals(0, maxAbsDiff(plain, again), 2e-5);
                }
                // Frozen statistics of another latent change the result: they are really used.
                try (Tensor other = randomLatent(4, h, w, 8)) {
                    NormStats otherStats = new NormStats();
                    otherStats.record(() -> vae.decode(other)).close();
                    try (Tensor mixed = otherStats.frozen(() -> vae.decode(z))) {
                        assertTrue(maxAbsDiff(plain, mixed) > 1e-3);
                    }
                }
                assertThrows(IllegalStateException.class, () -> new NormStats().frozen(() -> vae.decode(z)));
            }
        }
    }

    /**
     * Statistics shipped as values (another machine's copy of the model, as a Spark executor's) and bound to this
     * copy's layers by one tiny decode freeze the decode exactly as the recording itself does.
     */
    @Test
    void valuesRecordedOnOneCopyFreezeAnother() {
        Path model = Fixtures.caseDir("kl_f8_sd").resolve("model.safetensors");
        ScalarBackend backend = new ScalarBackend();
        try (Model a = ModelLoader.load(model, backend, null); Model b = ModelLoader.load(model, backend, null);
             Tensor z = randomLatent(4, 6, 8, 9); Tensor tiny = randomLatent(4, 2, 2, 10)) {
            NormStats recorded = new NormStats();
            recorded.record(() -> a.vae().decode(z)).close();
            NormStats layers = new NormStats();
            layers.record(() -> b.vae().decode(tiny)).close();
            NormStats shipped = layers.withValues(recorded.values());
            assertEquals(recorded.size(), shipped.size());
            try (Tensor want = recorded.frozen(() -> a.vae().decode(z));
                 Tensor got = shipped.frozen(() -> b.vae().decode(z))) {
                assertEquals(0, maxAbsDiff(want, got));
            }
            // Values that belong to another model are refused, not half bound.
            java.util.List<float[][]> fewer = recorded.values().subList(1, recorded.size());
            assertThrows(IllegalArgumentException.class, () -> layers.withValues(fewer));
            java.util.List<float[][]> reshaped = new java.util.ArrayList<>(recorded.values());
            reshaped.set(0, new float[][]{new float[3], new float[3]});
            assertThrows(IllegalArgumentException.class, () -> layers.withValues(reshaped));
        }
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        assertEquals(a.numel(), b.numel());
        double max = 0;
        for (long i = 0; i < a.numel(); i++) {
            max = Math.max(max, Math.abs(a.get(i) - b.get(i)));
        }
        return max;
    }
}
