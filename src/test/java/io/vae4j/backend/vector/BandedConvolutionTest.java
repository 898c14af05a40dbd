package io.vae4j.backend.vector;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.GroupNormSpec;
import io.vae4j.backend.PreparedConv;
import io.vae4j.backend.Random4;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Convolutions computed band by band give exactly the single-band result, on every path (direct, Winograd). */
class BandedConvolutionTest {

    @Test
    void presentCountsTheVectorsBeforeTheMissingOnes() {
        assertEquals(3, WinogradBands.present(new long[]{0, 8, 16}));
        assertEquals(1, WinogradBands.present(new long[]{40, -1, -1}));
        assertEquals(2, WinogradBands.present(new long[]{0, Long.MAX_VALUE, -1}));
        assertEquals(0, WinogradBands.present(new long[]{Long.MIN_VALUE}));
    }

    @Test
    void bandsDoNotChangeTheResult() {
        Random4 r = new Random4(21);
        ConvGeometry[] geometries = {ConvGeometry.same3x3(), ConvGeometry.ldmDownsample(), ConvGeometry.strided3x3()};
        long saved = VectorBackend.bandBytes;
        try (VectorBackend wino = new VectorBackend(2, VectorBackend.Winograd.F2X2);
             VectorBackend wino4 = new VectorBackend(2, VectorBackend.Winograd.F4X4);
             VectorBackend direct = new VectorBackend(2, false)) {
            for (ConvGeometry g : geometries) {
                ConvParams p = new ConvParams("conv", r.normal(0.2f, 24, 16, 3, 3), r.normal(0.5f, 24), g);
                GroupNormSpec norm = new GroupNormSpec(r.normal(1f, 16), r.normal(1f, 16), 4, 1e-6f, true);
                try (Tensor in = r.normal(1f, 1, 16, 37, 23)) {
                    for (VectorBackend b : new VectorBackend[]{wino, wino4, direct}) {
                        PreparedConv c = b.prepareConv(p);
                        VectorBackend.bandBytes = saved;
                        Tensor whole = b.conv2d(in, c, null), wholeUp = b.upsampleConv2d(in, c);
                        Tensor wholeNorm = b.normConv2d(in, norm, c, null);
                        for (long bytes : new long[]{1, 4096, 20_000}) {
                            VectorBackend.bandBytes = bytes;
                            assertEquals(0f, Random4.maxAbsDiff(whole, b.conv2d(in, c, null)), g + " " + bytes);
                            assertEquals(0f, Random4.maxAbsDiff(wholeUp, b.upsampleConv2d(in, c)), g + " up " + bytes);
                            assertEquals(0f, Random4.maxAbsDiff(wholeNorm, b.normConv2d(in, norm, c, null)),
                                    g + " norm " + bytes);
                        }
                    }
                }
            }
        } finally {
            VectorBackend.bandBytes = saved;
        }
    }
}
