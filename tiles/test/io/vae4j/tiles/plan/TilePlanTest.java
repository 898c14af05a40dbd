package io.vae4j.tiles.plan;

import io.vae4j.VaeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TilePlanTest {

    @ParameterizedTest(name = "{0}x{1} latent, tile {2}, halo {3}, x{4}")
    @CsvSource({
            "1, 1, 1, 0, 8",
            "1, 1, 64, 8, 8",
            "7, 13, 3, 1, 8",
            "37, 100, 16, 4, 8",
            "100, 37, 16, 4, 8",
            "64, 64, 64, 8, 8",
            "65, 64, 64, 8, 8",
            "129, 257, 64, 16, 8",
            "50, 50, 7, 20, 2",
            "3, 200, 5, 2, 1",
    })
    void coresCoverEveryPixelExactlyOnce(int h, int w, int edge, int halo, int f) {
        TilePlan plan = TilePlan.of(h, w, edge, halo, f);
        assertEquals(h * f, plan.imageHeight());
        assertEquals(w * f, plan.imageWidth());
        int[][] latent = new int[h][w];
        int[][] image = new int[h * f][w * f];
        List<Tile> tiles = plan.tiles();
        assertEquals(plan.rows() * plan.cols(), tiles.size());
        for (int i = 0; i < tiles.size(); i++) {
            Tile t = tiles.get(i);
            assertEquals(i, t.index());
            assertEquals(i / plan.cols(), t.row(), "row-major");
            assertEquals(i % plan.cols(), t.col(), "row-major");
            assertEquals(t, plan.tile(t.row(), t.col()));
            Region c = t.core();
            assertTrue(c.height() >= 1 && c.width() >= 1 && c.height() <= edge && c.width() <= edge, c.toString());
            // Balanced: core sizes along an axis differ by at most one.
            assertTrue(plan.maxCoreHeight() - c.height() <= 1 && plan.maxCoreWidth() - c.width() <= 1);
            for (int y = c.y(); y < c.yEnd(); y++) {
                for (int x = c.x(); x < c.xEnd(); x++) {
                    latent[y][x]++;
                }
            }
            Region ic = plan.toImage(c);
            for (int y = ic.y(); y < ic.yEnd(); y++) {
                for (int x = ic.x(); x < ic.xEnd(); x++) {
                    image[y][x]++;
                }
            }
            // The input is the core grown by the halo, clamped to the latent.
            Region in = t.input();
            assertEquals(Math.max(0, c.y() - halo), in.y());
            assertEquals(Math.max(0, c.x() - halo), in.x());
            assertEquals(Math.min(h, c.yEnd() + halo), in.yEnd());
            assertEquals(Math.min(w, c.xEnd() + halo), in.xEnd());
            assertTrue(in.contains(c));
            Region rel = t.coreInInput();
            assertEquals(c.y() - in.y(), rel.y());
            assertEquals(c.x() - in.x(), rel.x());
            assertEquals(c.height(), rel.height());
        }
        for (int[] row : latent) {
            for (int v : row) {
                assertEquals(1, v);
            }
        }
        for (int[] row : image) {
            for (int v : row) {
                assertEquals(1, v);
            }
        }
        // Row bands: consecutive, covering the image, each the core rows of its tile row.
        int next = 0;
        for (int r = 0; r < plan.rows(); r++) {
            RowBand b = plan.rowBand(r);
            assertEquals(r, b.tileRow());
            assertEquals(next, b.from());
            assertEquals(plan.toImage(plan.tile(r, 0).core()).yEnd(), b.to());
            next = b.to();
        }
        assertEquals(plan.imageHeight(), next);
    }

    @Test
    void oddSizesSplitEvenly() {
        TilePlan plan = TilePlan.of(130, 67, 64, 0, 8);
        assertEquals(3, plan.rows()); // 130 = 44 + 43 + 43, not 64 + 64 + 2
        assertEquals(44, plan.tile(0, 0).core().height());
        assertEquals(43, plan.tile(2, 0).core().height());
        assertEquals(2, plan.cols()); // 67 = 34 + 33
        assertEquals(34, plan.tile(0, 0).core().width());
        assertEquals(33, plan.tile(0, 1).core().width());
        assertEquals(List.of(plan.tile(1, 0), plan.tile(1, 1)), plan.row(1));
    }

    @Test
    void haloClampsAtBorders() {
        TilePlan plan = TilePlan.of(100, 100, 50, 8, 8);
        assertEquals(new Region(0, 0, 58, 58), plan.tile(0, 0).input());
        assertEquals(new Region(42, 0, 58, 58), plan.tile(1, 0).input());
        assertEquals(new Region(42, 42, 58, 58), plan.tile(1, 1).input());
        assertEquals(new Region(8, 8, 50, 50), plan.tile(1, 1).coreInInput());
        TilePlan single = TilePlan.of(30, 20, 64, 8, 8);
        assertEquals(1, single.size());
        assertEquals(new Region(0, 0, 30, 20), single.tile(0, 0).input());
    }

    @Test
    void autoPicksTheLargestTileThatFits() {
        long perPixel = 1000;
        for (int[] c : new int[][]{{128, 128, 8}, {200, 75, 4}, {37, 301, 0}, {500, 500, 16}}) {
            int h = c[0];
            int w = c[1];
            int halo = c[2];
            for (long budget : new long[]{400L * 400 * perPixel, 100L * 100 * perPixel, 50L * 50 * perPixel,
                    33L * 33 * perPixel}) {
                TilePlan p;
                try {
                    p = TilePlan.auto(h, w, 8, budget, perPixel, halo);
                } catch (VaeException e) {
                    assertTrue(TilePlan.of(h, w, 1, halo, 8).maxInputArea() * perPixel > budget);
                    continue;
                }
                assertTrue(p.maxInputArea() * perPixel <= budget, p + " fits " + budget);
                // Brute force: no larger edge fits.
                for (int e = p.tileEdge() + 1; e <= Math.max(h, w); e++) {
                    assertTrue(TilePlan.of(h, w, e, halo, 8).maxInputArea() * perPixel > budget,
                            "edge " + e + " would fit too; auto chose " + p.tileEdge());
                }
            }
        }
        assertEquals(1, TilePlan.auto(64, 64, 8, Long.MAX_VALUE / 2, 1, 8).size(), "whole latent in one tile");
        VaeException e = assertThrows(VaeException.class, () -> TilePlan.auto(64, 64, 8, 1000, 10, 8));
        assertTrue(e.getMessage().contains("too small"), e.getMessage());
    }

    /** A windowed TAESD tile's shape of cost: the core at 8x with 64 channels, plus a band of output rows. */
    private static final TilePlan.TileCost WINDOWED = (ch, cw, ih, iw) -> 1024L * (ch * 8L + 10) * (cw * 8L + 10)
            + 16L * ih * iw + 12L * ch * 8 * 16384;

    @ParameterizedTest(name = "{0}x{1} latent, budget {2} MiB")
    @CsvSource({
            "2048, 2048, 1000",
            "2048, 512, 1000",
            "512, 2048, 600",
            "2048, 2048, 300",
            "300, 7000, 800",
            "64, 64, 100000",
    })
    void autoWithACostTakesTheLargestEdgeWithinTheBudget(int h, int w, long mib) {
        long budget = mib << 20;
        TilePlan p = TilePlan.auto(h, w, 8, budget, 20, WINDOWED);
        for (Tile t : p.tiles()) {
            long cost = WINDOWED.bytes(t.core().height(), t.core().width(), t.input().height(), t.input().width());
            assertTrue(cost <= budget, t + " costs " + cost + " over " + budget);
        }
        assertTrue(TilePlan.bound(h, w, p.tileEdge(), 20, WINDOWED) <= budget);
        if (p.tileEdge() < Math.max(h, w)) {
            assertTrue(TilePlan.bound(h, w, p.tileEdge() + 1, 20, WINDOWED) > budget, "edge " + (p.tileEdge() + 1)
                    + " fits too");
        } else {
            assertEquals(1, p.size(), "the whole latent fits");
        }
    }

    @Test
    void maxCoreIsThePlansLongestCore() {
        for (int length = 1; length <= 300; length += 7) {
            for (int edge = 1; edge <= length + 3; edge += 5) {
                assertEquals(TilePlan.of(length, 1, edge, 0, 8).maxCoreHeight(), TilePlan.maxCore(length, edge),
                        length + " cut at " + edge);
            }
        }
        assertEquals(114, TilePlan.maxCore(2048, 120), "18 cores of 113 or 114");
    }

    @Test
    void autoWithACostRefusesABudgetTooSmallForOnePixel() {
        VaeException e = assertThrows(VaeException.class, () -> TilePlan.auto(2048, 2048, 8, 1 << 20, 20, WINDOWED));
        assertTrue(e.getMessage().contains("memory budget of 1.0 MiB is too small"), e.getMessage());
        assertThrows(VaeException.class, () -> TilePlan.auto(64, 64, 8, -5, 20, WINDOWED));
    }

    @Test
    void badArguments() {
        assertThrows(IllegalArgumentException.class, () -> TilePlan.of(0, 5, 4, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> TilePlan.of(5, 5, 0, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> TilePlan.of(5, 5, 4, -1, 8));
        assertThrows(IllegalArgumentException.class, () -> TilePlan.of(Integer.MAX_VALUE / 4, 5, 4, 0, 8));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Feather

    @ParameterizedTest(name = "{0}x{1} latent, tile {2}, halo {3}, x{4}")
    @CsvSource({
            "7, 13, 3, 1, 8",
            "37, 100, 16, 4, 8",
            "100, 37, 16, 4, 8",
            "65, 64, 32, 8, 8",
            "50, 50, 7, 20, 2",
            "23, 29, 5, 3, 3",
            "9, 9, 3, 0, 8",
            "1, 40, 3, 2, 8",
            "40, 40, 40, 8, 8",
    })
    void featherWeightsSumToExactlyOne(int h, int w, int edge, int halo, int f) {
        TilePlan plan = TilePlan.of(h, w, edge, halo, f);
        Feather feather = Feather.of(plan);
        int ih = plan.imageHeight();
        int iw = plan.imageWidth();
        float[][] sum = new float[ih][iw];
        float[][] reverse = new float[ih][iw];
        List<Tile> tiles = plan.tiles();
        for (int k = 0; k < tiles.size(); k++) {
            Tile t = tiles.get(k);
            Region in = plan.toImage(t.input());
            Region support = feather.support(t);
            assertTrue(in.contains(support), "weights stay inside the input region");
            assertTrue(support.contains(plan.toImage(t.core())));
            float[] rw = feather.rowWeights(t);
            float[] cw = feather.colWeights(t);
            assertEquals(in.height(), rw.length);
            assertEquals(in.width(), cw.length);
            for (int y = 0; y < in.height(); y++) {
                for (int x = 0; x < in.width(); x++) {
                    float wgt = rw[y] * cw[x];
                    int py = in.y() + y;
                    int px = in.x() + x;
                    assertEquals(feather.weight(t, py, px), wgt);
                    assertTrue(wgt >= 0f && wgt <= 1f);
                    assertEquals(support.contains(py, px), wgt > 0f, "support of " + t + " at " + py + "," + px);
                    sum[py][px] += wgt;
                }
            }
            // Just outside its input region a tile weighs nothing.
            if (in.y() > 0) {
                assertEquals(0f, feather.weight(t, in.y() - 1, in.x()));
            }
            if (in.yEnd() < ih) {
                assertEquals(0f, feather.weight(t, in.yEnd(), in.x()));
            }
            if (in.x() > 0) {
                assertEquals(0f, feather.weight(t, in.y(), in.x() - 1));
            }
            if (in.xEnd() < iw) {
                assertEquals(0f, feather.weight(t, in.y(), in.xEnd()));
            }
        }
        for (int k = tiles.size() - 1; k >= 0; k--) {
            Tile t = tiles.get(k);
            Region in = plan.toImage(t.input());
            for (int y = in.y(); y < in.yEnd(); y++) {
                for (int x = in.x(); x < in.xEnd(); x++) {
                    reverse[y][x] += feather.weight(t, y, x);
                }
            }
        }
        for (int y = 0; y < ih; y++) {
            for (int x = 0; x < iw; x++) {
                assertEquals(1f, sum[y][x], "pixel " + y + "," + x);
                assertEquals(1f, reverse[y][x], "pixel " + y + "," + x + " summed in reverse");
            }
        }
    }

    @Test
    void featherRampsAreLinearAndSymmetric() {
        TilePlan plan = TilePlan.of(64, 64, 32, 4, 8);
        Feather feather = Feather.of(plan);
        assertEquals(32, feather.rowRamp(1)); // halo 4 latent = 32 image pixels each side of the boundary
        Tile top = plan.tile(0, 0);
        Tile bottom = plan.tile(1, 0);
        int boundary = 32 * 8;
        for (int k = 0; k < 64; k++) {
            int y = boundary - 32 + k;
            float up = feather.weight(bottom, y, 0);
            float expected = Math.round((k + 0.5) / 64 * 4096) / 4096f;
            assertEquals(expected, up, "ramp pixel " + k);
            assertEquals(1f - up, feather.weight(top, y, 0));
            assertEquals(up, 1f - feather.weight(bottom, boundary + 31 - k, 0), "symmetric");
        }
        assertEquals(1f, feather.weight(top, boundary - 33, 0));
        assertEquals(0f, feather.weight(bottom, boundary - 33, 0));
    }

    @Test
    void haloZeroFeatherIsCropping() {
        TilePlan plan = TilePlan.of(20, 30, 7, 0, 8);
        Feather feather = Feather.of(plan);
        for (Tile t : plan.tiles()) {
            Region core = plan.toImage(t.core());
            assertEquals(core, feather.support(t));
            for (int y = 0; y < plan.imageHeight(); y += 3) {
                for (int x = 0; x < plan.imageWidth(); x += 3) {
                    assertEquals(core.contains(y, x) ? 1f : 0f, feather.weight(t, y, x));
                }
            }
        }
        for (int r = 0; r < plan.rows(); r++) {
            assertEquals(plan.rowBand(r), feather.rowBand(r));
        }
    }

    @Test
    void rampsShrinkBetweenShortCores() {
        TilePlan plan = TilePlan.of(10, 10, 3, 5, 8); // cores of 3 or 2 latent pixels, halo 5
        Feather feather = Feather.of(plan);
        for (int r = 1; r < plan.rows(); r++) {
            int above = plan.tile(r - 1, 0).core().height() * 8;
            int below = plan.tile(r, 0).core().height() * 8;
            assertEquals(Math.min(above / 2, below / 2), feather.rowRamp(r));
        }
    }

    @ParameterizedTest(name = "{0}x{1} latent, tile {2}, halo {3}")
    @CsvSource({"37, 20, 8, 3", "64, 16, 16, 8", "10, 10, 3, 5", "33, 5, 33, 2"})
    void featherRowBandsAreFinal(int h, int w, int edge, int halo) {
        TilePlan plan = TilePlan.of(h, w, edge, halo, 8);
        Feather feather = Feather.of(plan);
        int next = 0;
        for (int r = 0; r < plan.rows(); r++) {
            RowBand band = feather.rowBand(r);
            assertEquals(next, band.from());
            assertTrue(band.to() > band.from());
            next = band.to();
            for (int y = band.from(); y < band.to(); y++) {
                for (int x = 0; x < plan.imageWidth(); x += 5) {
                    float done = 0f;
                    for (Tile t : plan.tiles()) {
                        float wgt = feather.weight(t, y, x);
                        if (t.row() <= r) {
                            done += wgt;
                        } else {
                            assertEquals(0f, wgt, "tile row " + t.row() + " touches final row " + y);
                        }
                    }
                    assertEquals(1f, done, "row " + y + " complete after tile row " + r);
                }
            }
        }
        assertEquals(plan.imageHeight(), next);
    }
}
