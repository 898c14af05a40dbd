package io.vae4j.tiles;

import io.vae4j.VaeException;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.taesd.Taesd;
import io.vae4j.tiles.plan.Tile;
import io.vae4j.tiles.plan.TilePlan;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plans of huge TAESD decodes against the budget: arithmetic on the loaded model, nothing decoded. */
class TiledBudgetTest {
    private static final VectorBackend BACKEND = new VectorBackend(1);

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
    }

    /** Everything a windowed decode holds at its peak, as the decoder counts it. */
    static long peak(Taesd t, TilePlan plan, int halo) {
        long worst = 0;
        for (Tile tile : plan.tiles()) {
            worst = Math.max(worst, t.decodeWindowBytes(tile.core().height(), tile.core().width(), halo)
                    + 4L * t.latentChannels() * tile.input().area()
                    + 3L * 4 * tile.core().height() * plan.downscale() * plan.imageWidth());
        }
        return worst + TiledDecoder.BASELINE_BYTES + 4L * t.latentChannels() * plan.latentHeight()
                * plan.latentWidth();
    }

    @Test
    void huge_taef2_plansFitTheBudgetWithLargeTiles() {
        Path dir = TiledDecoderTest.fixture("taef2");
        try (Model m = ModelLoader.load(dir.resolve("taef2_decoder.safetensors"), BACKEND, null)) {
            Taesd t = (Taesd) m.vae();
            int halo = TiledDecoder.defaultHalo(t);
            long budget = 1400L << 20;
            int[][] latents = {{2048, 2048}, {2048, 512}, {256, 4096}, {1024, 1536}};
            for (int[] l : latents) {
                TilePlan plan = new TiledDecoder(t, TiledDecoder.Options.auto(budget)).plan(l[0], l[1]);
                assertTrue(peak(t, plan, halo) <= budget, plan + " needs " + (peak(t, plan, halo) >> 20) + " MiB");
                // Large cores keep the halo's share of the latent-resolution work small.
                assertTrue(plan.maxCoreHeight() >= 64 || plan.rows() == 1, plan.toString());
            }
            TilePlan square = new TiledDecoder(t, TiledDecoder.Options.auto(budget)).plan(2048, 2048);
            TilePlan wide = new TiledDecoder(t, TiledDecoder.Options.auto(budget)).plan(512, 2048);
            assertTrue(square.maxCoreHeight() <= 2048 && wide.rows() * wide.cols() < square.size());
        }
    }

    @Test
    void aBudgetTheLatentAloneFillsIsRefusedInOneLine() {
        Path dir = TiledDecoderTest.fixture("taef2");
        try (Model m = ModelLoader.load(dir.resolve("taef2_decoder.safetensors"), BACKEND, null)) {
            TiledDecoder d = new TiledDecoder(m.vae(), TiledDecoder.Options.auto(800L << 20));
            VaeException e = assertThrows(VaeException.class, () -> d.plan(2048, 2048));
            assertTrue(e.getMessage().contains("too small for a 2048x2048 latent"), e.getMessage());
            assertEquals(-1, e.getMessage().indexOf('\n'));
        }
    }

    @Test
    void statisticsPassFitsBesideTheLatent() {
        Path dir = TiledDecoderTest.fixture("taef2");
        try (Model m = ModelLoader.load(dir.resolve("taef2_decoder.safetensors"), BACKEND, null)) {
            long budget = 1400L << 20;
            TiledDecoder d = new TiledDecoder(m.vae(), TiledDecoder.Options.auto(budget));
            int k = d.statsFactor(2048, 2048);
            int side = (2048 + k - 1) / k * 8;
            assertTrue(m.vae().decodeActivationBytes(side, side) <= d.room(2048, 2048), "factor " + k);
        }
    }
}
