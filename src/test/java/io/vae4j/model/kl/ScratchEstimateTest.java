package io.vae4j.model.kl;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.RandomWeights;
import io.vae4j.model.Vae;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scratch estimate of a whole-image run counts the Winograd transforms the run keeps in scratch: those of every
 * stride-1 3x3 convolution with 8 or more channels on both sides, 36 (F4x4) or 16 (F2x2) floats per channel pair,
 * worked out here from the tensor shapes. With no activations (a 0x0 image) the estimate is all of them; whether
 * they are counted early enough is checked against real runs in {@code ExactRunnerTest} (peak <= estimate).
 */
class ScratchEstimateTest {
    private static final KlConfig CONFIG = new KlConfig(new int[]{32, 64, 64}, 1, 4, 3, true, true, true, true,
            true, true);

    /**
     * Bytes of the transforms of the 3x3 convolutions from {@code prefix} (the encoder's stride-2 ones have none), of
     * {@code tiles} floats per channel pair, or {@code upsampled} for the upsampling ones with 8k output channels.
     */
    private static long transforms(String prefix, long tiles, long upsampled) {
        long sum = 0;
        for (Map.Entry<String, int[]> e : KlShapes.of(CONFIG).entrySet()) {
            int[] s = e.getValue();
            if (e.getKey().startsWith(prefix) && e.getKey().endsWith(".weight") && !e.getKey().contains("downsample")
                    && s.length == 4 && s[2] == 3 && s[0] >= 8 && s[1] >= 8) {
                boolean up = e.getKey().contains(".upsample.") && s[0] % 8 == 0;
                sum += (up ? upsampled : tiles) * s[0] * s[1] * 4;
            }
        }
        return sum;
    }

    private static void check(VectorBackend.Winograd tile, long tiles, long upsampled) {
        try (VectorBackend b = new VectorBackend(1, tile);
             Model m = ModelLoader.load(RandomWeights.of("small", KlShapes.of(CONFIG), 1), null, b, null);
             VectorBackend off = new VectorBackend(1, VectorBackend.Winograd.OFF);
             Model plain = ModelLoader.load(RandomWeights.of("small", KlShapes.of(CONFIG), 1), null, off, null)) {
            Vae vae = m.vae();
            assertEquals(transforms("decoder.", tiles, upsampled), vae.decodePeakBytes(0, 0), tile + " decode");
            assertEquals(transforms("encoder.", tiles, upsampled), vae.encodePeakBytes(0, 0), tile + " encode");
            long activations = plain.vae().decodePeakBytes(96, 160);
            assertEquals(4 * new KlLiveSet(CONFIG, KlLiveSet.Kept.NONE).decode(96 / 4, 160 / 4), activations);
            long estimate = vae.decodePeakBytes(96, 160);
            assertTrue(estimate >= activations && estimate <= activations + transforms("decoder.", tiles, upsampled),
                    tile + ": " + estimate);
        }
    }

    @Test
    void theEstimateCountsEveryTransformTheRunKeepsInScratch() {
        assertTrue(transforms("decoder.", 36, 100) > transforms("decoder.", 36, 36), "the config has upsampling");
        check(VectorBackend.Winograd.F4X4, 36, 100);
        check(VectorBackend.Winograd.F2X2, 16, 16);
        check(VectorBackend.Winograd.OFF, 0, 0);
    }
}
