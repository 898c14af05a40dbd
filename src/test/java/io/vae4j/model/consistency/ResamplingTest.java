package io.vae4j.model.consistency;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The decoder's plain-Java steps: 2x2 average pooling, nearest upsampling into the UNet input, seeded draws. */
class ResamplingTest {
    @Test
    void averagePoolDropsAnOddLastRowAndColumnLikeTorch() {
        float[] v = new float[2 * 3 * 5];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        try (VectorBackend b = new VectorBackend(1); Tensor x = Tensor.of(v, 1, 2, 3, 5);
             Tensor y = Resampling.averagePool2x2(b, x)) {
            assertArrayEquals(new int[]{1, 2, 1, 2}, y.shape());
            // channel 0 rows 0-1, columns 0-1: (0 + 1 + 5 + 6) / 4; columns 2-3: (2 + 3 + 7 + 8) / 4
            assertArrayEquals(new float[]{3f, 5f, 18f, 20f}, y.toFloatArray());
        }
    }

    @Test
    void nearestUpsamplingFillsTheGivenChannels() {
        try (Tensor z = Tensor.of(new float[]{1, 2, 3, 4}, 1, 1, 2, 2); Tensor out = Tensor.allocate(1, 2, 4, 4)) {
            Resampling.nearestInto(z, 2, out, 1);
            float[] got = out.toFloatArray();
            for (int i = 0; i < 16; i++) {
                assertEquals(0f, got[i], "channel 0 left alone");
            }
            assertArrayEquals(new float[]{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4},
                    java.util.Arrays.copyOfRange(got, 16, 32));
        }
    }

    @Test
    void seededDrawsRepeatAndRecordedDrawsAreCheckedAndCopied() {
        int[] shape = {1, 3, 2, 4};
        DecoderNoise.Draws a = DecoderNoise.seeded(5).start(), b = DecoderNoise.seeded(5).start();
        try (Tensor a0 = a.next(shape); Tensor b0 = b.next(shape); Tensor a1 = a.next(shape);
             Tensor c0 = DecoderNoise.seeded(6).start().next(shape)) {
            assertArrayEquals(a0.toFloatArray(), b0.toFloatArray());
            assertNotEquals(a0.get(0), a1.get(0), "the second draw continues the stream");
            assertNotEquals(a0.get(0), c0.get(0));
        }
        try (Tensor r0 = Tensor.allocate(shape); Tensor r1 = Tensor.allocate(1, 3, 4, 4)) {
            DecoderNoise.Draws recorded = DecoderNoise.recorded(List.of(r0, r1)).start();
            try (Tensor first = recorded.next(shape)) {
                assertArrayEquals(r0.toFloatArray(), first.toFloatArray());
            }
            assertThrows(io.vae4j.VaeException.class, () -> recorded.next(shape), "draw 1 has the wrong shape");
            assertThrows(io.vae4j.VaeException.class, () -> DecoderNoise.recorded(List.of(r0)));
        }
    }
}
