package io.vae4j.backend.vector;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.Random4;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inside a scratch run (exact mode) a convolution's Winograd transform is made per call and freed, not cached:
 * the same result, without 4x the weights staying resident. Outside one it is cached as usual.
 */
class ScratchRunWeightsTest {

    @Test
    void transformsAreMadePerCallInsideAScratchRunAndCachedOutside(@TempDir Path dir) {
        Random4 r = new Random4(3);
        ConvParams p = new ConvParams("conv", r.normal(0.2f, 16, 16, 3, 3), r.normal(0.5f, 16),
                ConvGeometry.same3x3());
        for (VectorBackend.Winograd tile : new VectorBackend.Winograd[]{VectorBackend.Winograd.F2X2,
                VectorBackend.Winograd.F4X4}) {
            try (VectorBackend b = new VectorBackend(2, tile); Tensor in = r.normal(1f, 1, 16, 19, 21);
                 ScratchSpace space = new ScratchSpace(dir, 0, 0)) {
                VectorConv c = (VectorConv) b.prepareConv(p);
                Tensor inScratch = space.run(() -> b.conv2d(in, c, null));
                boolean f4 = tile == VectorBackend.Winograd.F4X4;
                Tensor u = space.run(() -> c.winogradForCall(f4));
                assertFalse(c.cached(u), tile + ": not cached inside a scratch run");
                u.close();
                Tensor outside = b.conv2d(in, c, null);
                assertTrue(c.cached(c.winogradForCall(f4)), tile + ": cached outside");
                assertEquals(0f, Random4.maxAbsDiff(outside, inScratch), tile.toString());
            }
        }
    }
}
