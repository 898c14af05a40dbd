package io.vae4j.model;

import io.vae4j.VaeException;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FLUX.2's latent space: detection from the bn.* tensors and the patched normalisation against its formula. */
class Flux2NormalisationTest {

    private static Model load(MemoryWeights w, Map<String, Object> config, Family family) {
        return ModelLoader.load(w, config, new ScalarBackend(), family);
    }

    private static Tensor random(long seed, int... shape) {
        Tensor t = Tensor.allocate(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < t.numel(); i++) {
            t.set(i, (float) r.nextDouble(-3, 3));
        }
        return t;
    }

    /**
     * diffusers' Flux2Pipeline: patched[b, 4c + 2dy + dx, i, j] = raw[b, c, 2i + dy, 2j + dx], then (patched -
     * running_mean) / sqrt(running_var + eps), written out element by element.
     */
    private static void assertFormula(Tensor raw, Tensor diffusion, Tensor mean, Tensor var, double eps) {
        int b = raw.dim(0), c = raw.dim(1), h = raw.dim(2), w = raw.dim(3);
        assertEquals(4 * c, diffusion.dim(1));
        assertEquals(h / 2, diffusion.dim(2));
        assertEquals(w / 2, diffusion.dim(3));
        for (int n = 0; n < b; n++) {
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int p = 4 * ch + 2 * (y % 2) + x % 2;
                        double want = (raw.get((((long) n * c + ch) * h + y) * w + x) - mean.get(p))
                                / Math.sqrt(var.get(p) + eps);
                        float got = diffusion.get((((long) n * 4 * c + p) * (h / 2) + y / 2) * (w / 2) + x / 2);
                        assertEquals(want, got, 1e-5 * Math.max(1, Math.abs(want)), "at " + n + "," + ch + "," + y
                                + "," + x);
                    }
                }
            }
        }
    }

    @Test
    void bnTensorsMakeTheFlux2SpaceAndItFollowsTheFormula() {
        try (MemoryWeights w = Flux2ModelsForTest.weights("flux2.safetensors", true)) {
            Tensor mean = w.tensors().get("bn.running_mean"), var = w.tensors().get("bn.running_var");
            try (Model m = load(w, null, null); Tensor raw = random(1, 2, 32, 6, 8)) {
                LatentSpace space = m.vae().latentSpace();
                assertEquals(Family.FLUX2, space.family());
                assertTrue(space.patched());
                assertTrue(space.describe().contains("BatchNorm"), space.describe());
                try (Tensor z = space.toDiffusion(raw); Tensor back = space.toRaw(z)) {
                    assertFormula(raw, z, mean, var, Flux2Normalisation.DEFAULT_EPS);
                    for (long i = 0; i < raw.numel(); i++) {
                        assertEquals(raw.get(i), back.get(i), 1e-5);
                    }
                }
            }
        }
    }

    @Test
    void configEpsIsUsed() {
        try (MemoryWeights w = Flux2ModelsForTest.weights("flux2.safetensors", true)) {
            Tensor mean = w.tensors().get("bn.running_mean"), var = w.tensors().get("bn.running_var");
            Map<String, Object> config = Map.of("_class_name", "AutoencoderKLFlux2", "latent_channels", 32,
                    "batch_norm_eps", 0.5);
            try (Model m = load(w, config, null); Tensor raw = random(2, 1, 32, 4, 4);
                 Tensor z = m.vae().latentSpace().toDiffusion(raw)) {
                assertFormula(raw, z, mean, var, 0.5);
                assertTrue(m.vae().latentSpace().source().contains("config.json"));
            }
        }
    }

    @Test
    void familyFlux2NeedsTheStatistics() {
        try (MemoryWeights w = Flux2ModelsForTest.weights("plain32.safetensors", false)) {
            VaeException e = assertThrows(VaeException.class, () -> load(w, null, Family.FLUX2).close());
            assertTrue(e.getMessage().contains("bn.running_mean"), e.getMessage());
        }
        try (MemoryWeights w = Flux2ModelsForTest.weights("plain32.safetensors", false);
             Model m = load(w, null, null)) {
            assertFalse(m.vae().latentSpace().patched(), "no bn.* tensors: no FLUX.2 normalisation assumed");
        }
    }

    @Test
    void wrongShapesAreNamed() {
        try (MemoryWeights w = Flux2ModelsForTest.weights("flux2.safetensors", true); Model m = load(w, null, null)) {
            LatentSpace space = m.vae().latentSpace();
            try (Tensor odd = random(3, 1, 32, 5, 4); Tensor raw32 = random(4, 1, 32, 4, 4)) {
                VaeException e = assertThrows(VaeException.class, () -> space.toDiffusion(odd).close());
                assertTrue(e.getMessage().contains("multiple of 16"), e.getMessage());
                e = assertThrows(VaeException.class, () -> space.toRaw(raw32).close());
                assertTrue(e.getMessage().contains("[N, 128, h, w]") && e.getMessage().contains("--raw"),
                        e.getMessage());
            }
        }
        try (MemoryWeights w = Flux2ModelsForTest.weights("flux2.safetensors", true)) {
            w.tensors().put("bn.running_var", Tensor.allocate(64));
            VaeException e = assertThrows(VaeException.class, () -> load(w, null, null).close());
            assertTrue(e.getMessage().contains("'bn.running_var' of shape [128]"), e.getMessage());
        }
    }

    @Test
    void taef2StandsInForFlux2WithPatchesOnly() {
        try (Model m = ModelLoader.load(Path.of("models/taef2.safetensors"), new ScalarBackend(), null)) {
            LatentSpace parent = ModelLoader.parentSpace(m.vae(), null);
            assertEquals(Family.FLUX2, parent.family());
            assertNotNull(parent.patches());
            assertFalse(parent.patches().hasStatistics());
            try (Tensor raw = random(5, 1, 32, 4, 6); Tensor z = parent.toDiffusion(raw);
                 Tensor back = parent.toRaw(z)) {
                assertFormula(raw, z, Tensor.allocate(128), ones(128), 0);
                for (long i = 0; i < raw.numel(); i++) {
                    assertEquals(raw.get(i), back.get(i));
                }
            }
        }
        assertNull(ModelLoader.parentSpace(32, null).patches(), "a bare 32-channel TAESD-like model is not FLUX.2");
    }

    private static Tensor ones(int n) {
        Tensor t = Tensor.allocate(n);
        for (int i = 0; i < n; i++) {
            t.set(i, 1);
        }
        return t;
    }
}
