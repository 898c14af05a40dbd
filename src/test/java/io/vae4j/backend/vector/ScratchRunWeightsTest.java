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
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inside a scratch run (exact mode) a convolution's Winograd transform is made once per scratch space and kept in
 * it (here, with threshold 0, in a scratch file), not cached in RAM: the same values, so the same result. Outside
 * one it is cached in RAM as usual.
 */
class ScratchRunWeightsTest {
    private static final VectorBackend.Winograd[] TILES = {VectorBackend.Winograd.F2X2, VectorBackend.Winograd.F4X4};

    private static ConvParams conv(Random4 r) {
        return new ConvParams("conv", r.normal(0.2f, 16, 24, 3, 3), r.normal(0.5f, 16), ConvGeometry.same3x3());
    }

    @Test
    void theTransformKeptInScratchIsTheOneMadeInRamAndIsMadeOncePerSpace(@TempDir Path dir) {
        Random4 r = new Random4(3);
        ConvParams p = conv(r);
        for (VectorBackend.Winograd tile : TILES) {
            try (VectorBackend b = new VectorBackend(2, tile); Tensor in = r.normal(1f, 1, 24, 19, 21)) {
                VectorConv c = (VectorConv) b.prepareConv(p);
                long bytes = b.scratchWeightBytes(ConvGeometry.same3x3(), 24, 16, false);
                assertEquals((tile == VectorBackend.Winograd.F4X4 ? 36 : 16) * 16 * 24 * 4L, bytes);
                try (ScratchSpace space = new ScratchSpace(dir, 0, 0)) {
                    Tensor inScratch = space.run(() -> b.conv2d(in, c, null));
                    Tensor u = space.run(() -> c.winograd(false, b.parallel()));
                    assertEquals(bytes, u.data().byteSize(), tile + ": what the estimate counts is what is kept");
                    long files = space.files();
                    Tensor again = space.run(() -> b.conv2d(in, c, null));
                    assertEquals(files + 1, space.files(), tile + ": a later call maps only its output");
                    assertSame(u, space.run(() -> c.winograd(false, b.parallel())), tile + ": made once per space");
                    assertFalse(c.cachedInRam(u), tile + ": kept in the space, not cached in RAM");
                    assertEquals(0f, Random4.maxAbsDiff(inScratch, again), tile.toString());

                    Tensor first = b.conv2d(in, c, null);
                    Tensor ram = c.winograd(false, b.parallel());
                    assertTrue(c.cachedInRam(ram), tile + ": cached in RAM outside");
                    assertNotSame(u, ram);
                    assertEquals(0f, Random4.maxAbsDiff(u, ram), tile + ": scratch transform = RAM transform");
                    assertEquals(0f, Random4.maxAbsDiff(first, inScratch), tile.toString());
                    first.close();
                    inScratch.close();
                    again.close();
                }
                c.close();
            }
        }
    }

    @Test
    void eachScratchSpaceKeepsItsOwnTransformAndClosesItWithItself(@TempDir Path dir) {
        Random4 r = new Random4(5);
        try (VectorBackend b = new VectorBackend(1, VectorBackend.Winograd.F4X4)) {
            VectorConv c = (VectorConv) b.prepareConv(conv(r));
            Tensor u;
            try (ScratchSpace one = new ScratchSpace(dir, 0, 0)) {
                u = one.run(() -> c.winograd(false, b.parallel()));
                assertEquals(b.scratchWeightBytes(ConvGeometry.same3x3(), 24, 16, false), one.liveBytes(),
                        "the transform is the space's one mapping");
            }
            try (ScratchSpace two = new ScratchSpace(dir, 0, 0)) {
                Tensor v = two.run(() -> c.winograd(false, b.parallel()));
                assertNotSame(u, v);
                assertTrue(v.data().scope().isAlive());
            }
            assertFalse(u.data().scope().isAlive(), "closed with its space");
            c.close();
        }
    }

    @Test
    void anUpsamplingConvolutionKeepsItsOwnTransformOfTheEstimatedSize(@TempDir Path dir) {
        Random4 r = new Random4(7);
        try (VectorBackend b = new VectorBackend(2, VectorBackend.Winograd.F4X4);
             Tensor in = r.normal(1f, 1, 24, 9, 11)) {
            VectorConv c = (VectorConv) b.prepareConv(conv(r));
            long bytes = b.scratchWeightBytes(ConvGeometry.same3x3(), 24, 16, true);
            assertEquals(Winograd4x4Upsample.TRANSFORM_FLOATS * 16 * 24 * 4L, bytes);
            try (ScratchSpace space = new ScratchSpace(dir, 0, 0)) {
                Tensor inScratch = space.run(() -> b.upsampleConv2d(in, c));
                Tensor u = space.run(() -> c.winograd(true, b.parallel()));
                assertEquals(bytes, u.data().byteSize(), "what the estimate counts is what is kept");
                assertFalse(c.cachedInRam(u));
                Tensor ram = b.upsampleConv2d(in, c);
                assertTrue(c.cachedInRam(c.winograd(true, b.parallel())), "cached in RAM outside");
                assertEquals(0f, Random4.maxAbsDiff(ram, inScratch));
                inScratch.close();
                ram.close();
            }
            c.close();
        }
    }
}
