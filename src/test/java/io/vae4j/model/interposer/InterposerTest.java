package io.vae4j.model.interposer;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Random4;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.model.Family;
import io.vae4j.model.RandomWeights;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interposers the fixture does not cover (it is fx-to-xl shaped): the variants a file name gives, Stable Cascade's
 * half-size resampling, on both backends. Tiny random networks, 8 wide with one block.
 */
class InterposerTest {
    private static final VectorBackend FAST = new VectorBackend(2);

    @AfterAll
    static void close() {
        FAST.parallel().close();
    }

    /** The state dict of an InterposerModel(ch_in, ch_out, ch_mid=width, blocks=1). */
    private static MemoryWeights weights(String name, int in, int out, int width) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        conv(shapes, "head.short", in, width);
        conv(shapes, "head.long.0", in, width);
        conv(shapes, "head.long.2", width, width);
        conv(shapes, "head.long.4", width, width);
        norm(shapes, "core.1.norm", width);
        conv(shapes, "core.1.long.0", width, width);
        conv(shapes, "core.1.long.2", width, width);
        conv(shapes, "core.1.long.4", width, width);
        norm(shapes, "core.2", width);
        conv(shapes, "tail", width, out);
        MemoryWeights w = RandomWeights.of(name, shapes, 11);
        Random4 r = new Random4(5);
        for (String bn : new String[]{"core.1.norm", "core.2"}) {
            // Running statistics like a trained network's: means off zero, variances positive and not 1.
            try (Tensor mean = r.normal(0.3f, width); Tensor var = r.normal(0.4f, width)) {
                for (int c = 0; c < width; c++) {
                    w.tensors().get(bn + ".running_mean").set(c, mean.get(c));
                    w.tensors().get(bn + ".running_var").set(c, 0.5f + Math.abs(var.get(c)));
                    w.tensors().get(bn + ".weight").set(c, 1 + mean.get(c));
                }
            }
        }
        return w;
    }

    private static void conv(Map<String, int[]> shapes, String name, int in, int out) {
        shapes.put(name + ".weight", new int[]{out, in, 3, 3});
        shapes.put(name + ".bias", new int[]{out});
    }

    private static void norm(Map<String, int[]> shapes, String name, int c) {
        for (String p : new String[]{".weight", ".bias", ".running_mean", ".running_var"}) {
            shapes.put(name + p, new int[]{c});
        }
    }

    private static Tensor run(Backend b, String name, int in, int out, Tensor z) {
        try (Interposer i = Interposer.load(b, weights(name, in, out, 8))) {
            return i.convert(z);
        }
    }

    @Test
    void cascadeFilesResampleToHalfSizeOnBothBackends() {
        try (Tensor z = new Random4(1).normal(1f, 2, 4, 7, 6);
             Tensor a = run(new ScalarBackend(), "ca-to-v1_interposer-v4.0.safetensors", 4, 4, z);
             Tensor b = run(FAST, "ca-to-v1_interposer-v4.0.safetensors", 4, 4, z)) {
            assertArrayEquals(new int[]{2, 4, 3, 3}, a.shape());
            assertTrue(Random4.maxAbsDiff(a, b) < 1e-5f, "scalar vs vector " + Random4.maxAbsDiff(a, b));
        }
    }

    @Test
    void sameSizeVariantsOnBothBackends() {
        try (Tensor z = new Random4(2).normal(1f, 1, 4, 5, 9);
             Tensor a = run(new ScalarBackend(), "xl-to-v3_interposer-v4.0.safetensors", 4, 16, z);
             Tensor b = run(FAST, "xl-to-v3_interposer-v4.0.safetensors", 4, 16, z)) {
            assertArrayEquals(new int[]{1, 16, 5, 9}, a.shape());
            assertTrue(Random4.maxAbsDiff(a, b) < 1e-5f, "scalar vs vector " + Random4.maxAbsDiff(a, b));
        }
    }

    @Test
    void theVariantComesFromTheChannelsAndAMatchingFileName() {
        try (Interposer named = Interposer.load(FAST, weights("models/v1-to-xl_interposer-v4.0.safetensors", 4, 4, 8));
             Interposer mismatched = Interposer.load(FAST, weights("v3-to-xl.safetensors", 4, 4, 8));
             Interposer plain = Interposer.load(FAST, weights("interposer.safetensors", 4, 16, 8))) {
            assertEquals("v1-to-xl", named.config().variant());
            assertEquals(Family.SDXL, named.config().targetFamily());
            assertEquals(1.0, named.config().scale());
            // v3 latents have 16 channels: the name is wrong for these tensors and is not believed.
            assertEquals("v1/xl-to-v1/xl", mismatched.config().variant());
            assertEquals("v1/xl-to-v3/fx", plain.config().variant());
            assertNull(plain.config().targetFamily());
        }
    }

    /** torch's nearest with scale_factor 0.5: size floor(n / 2), output i reads input 2i. */
    @Test
    void halfSizeNearestReadsEveryOtherPixel() {
        float[] ramp = new float[5 * 4];
        for (int i = 0; i < ramp.length; i++) {
            ramp[i] = i;
        }
        try (Tensor out = Resample.nearest(Tensor.of(ramp, 1, 1, 5, 4), 0.5)) {
            assertArrayEquals(new int[]{1, 1, 2, 2}, out.shape());
            assertArrayEquals(new float[]{0, 2, 8, 10}, out.toFloatArray());
        }
    }
}
