package io.vae4j.tiles.plan;

import java.util.function.IntUnaryOperator;

/**
 * Blending weights for the overlapping halos of a {@link TilePlan}, in image pixels: instead of cropping each tile
 * to its core, each tile's output over its input region is multiplied by its weight and the products summed.
 *
 * <p>Along each axis, at the boundary {@code b} between two neighbouring cores, the weights ramp linearly across
 * {@code [b - w, b + w)}: the earlier tile from 1 down to 0, the later one from 0 up to 1, where the half-width
 * {@code w} is the halo in image pixels, or less where a neighbouring core is shorter than two halos (so that
 * ramps never overlap and stay inside both tiles' input regions). Elsewhere a tile's weight is 1 on its core and 0
 * on the rest of its input. With a halo of 0 this is exactly the cropped mode. A tile's 2-d weight is the product
 * of its row weight and its column weight.
 *
 * <p>Weights are multiples of 1/4096, so their products are exact in float32 and the weights of all tiles covering
 * a pixel sum to exactly {@code 1.0f} at every pixel, in any summation order.
 */
public final class Feather {
    /** Weights are multiples of 1 / QUANTUM: 12 bits, so a product of two fits float32's 24-bit mantissa. */
    static final int QUANTUM = 1 << 12;

    private final TilePlan plan;
    /** Ramp half-width in image pixels at the top of each tile row (index 0 and rows() are unused, 0). */
    private final int[] rowRamp;
    private final int[] colRamp;

    private Feather(TilePlan plan) {
        this.plan = plan;
        this.rowRamp = ramps(plan.rows(), plan::rowStart, plan.halo(), plan.downscale());
        this.colRamp = ramps(plan.cols(), plan::colStart, plan.halo(), plan.downscale());
    }

    public static Feather of(TilePlan plan) {
        return new Feather(plan);
    }

    public TilePlan plan() {
        return plan;
    }

    private static int[] ramps(int n, IntUnaryOperator start, int halo, int f) {
        int[] ramp = new int[n + 1];
        for (int j = 1; j < n; j++) {
            long before = (long) (start.applyAsInt(j) - start.applyAsInt(j - 1)) * f;
            long after = (long) (start.applyAsInt(j + 1) - start.applyAsInt(j)) * f;
            ramp[j] = (int) Math.min((long) halo * f, Math.min(before / 2, after / 2));
        }
        return ramp;
    }

    /** Ramp half-width, in image pixels, at the boundary above tile row {@code r} (0 for r = 0). */
    public int rowRamp(int r) {
        return rowRamp[r];
    }

    /** Ramp half-width, in image pixels, at the boundary left of tile column {@code c} (0 for c = 0). */
    public int colRamp(int c) {
        return colRamp[c];
    }

    /** Weights of tile {@code t} for each row of its input region in image pixels (top to bottom). */
    public float[] rowWeights(Tile t) {
        Region in = plan.toImage(t.input());
        return axis(in.y(), in.height(), t.row(), plan.rows(), rowRamp, plan::rowStart);
    }

    /** Weights of tile {@code t} for each column of its input region in image pixels (left to right). */
    public float[] colWeights(Tile t) {
        Region in = plan.toImage(t.input());
        return axis(in.x(), in.width(), t.col(), plan.cols(), colRamp, plan::colStart);
    }

    /** The weight of tile {@code t} at image pixel (y, x); 0 outside its input region. */
    public float weight(Tile t, int y, int x) {
        int f = plan.downscale();
        return quantum(y, t.row(), plan.rows(), rowRamp, plan::rowStart, f)
                * (float) quantum(x, t.col(), plan.cols(), colRamp, plan::colStart, f)
                / ((float) QUANTUM * QUANTUM);
    }

    /**
     * The part of tile {@code t}'s input region, in image pixels, where its weight is not zero: its core grown by
     * the ramps around it.
     */
    public Region support(Tile t) {
        Region core = plan.toImage(t.core());
        int y0 = core.y() - rowRamp[t.row()];
        int y1 = core.yEnd() + rowRamp[t.row() + 1];
        int x0 = core.x() - colRamp[t.col()];
        int x1 = core.xEnd() + colRamp[t.col() + 1];
        assert plan.toImage(t.input()).contains(new Region(y0, x0, y1 - y0, x1 - x0)) : t;
        return new Region(y0, x0, y1 - y0, x1 - x0);
    }

    /**
     * The image rows that are final once every tile of tile row {@code r} has been added: from the end of the
     * previous band to the start of the ramp below this tile row (the image end for the last row). Rows below
     * that, down to {@code support(...).yEnd()}, have received only part of their weight.
     */
    public RowBand rowBand(int r) {
        int f = plan.downscale();
        int from = r == 0 ? 0 : plan.rowStart(r) * f - rowRamp[r];
        int to = r + 1 == plan.rows() ? plan.imageHeight() : plan.rowStart(r + 1) * f - rowRamp[r + 1];
        return new RowBand(r, from, to);
    }

    private float[] axis(int from, int length, int index, int n, int[] ramp, IntUnaryOperator start) {
        float[] w = new float[length];
        for (int i = 0; i < length; i++) {
            w[i] = quantum(from + i, index, n, ramp, start, plan.downscale()) / (float) QUANTUM;
        }
        return w;
    }

    /** The weight of core {@code index} at image coordinate {@code p} along one axis, in units of 1/QUANTUM. */
    private static int quantum(int p, int index, int n, int[] ramp, IntUnaryOperator start, int f) {
        long lo = (long) start.applyAsInt(index) * f;          // this core's first image pixel
        long hi = (long) start.applyAsInt(index + 1) * f;      // one past its last
        int up = ramp[index];
        int down = ramp[index + 1];
        if (index > 0 && p >= lo - up && p < lo + up) {
            return rampUp(p - (lo - up), 2L * up);
        }
        if (index + 1 < n && p >= hi - down && p < hi + down) {
            return QUANTUM - rampUp(p - (hi - down), 2L * down);
        }
        return p >= lo && p < hi ? QUANTUM : 0;
    }

    /**
     * Pixel {@code k} of a ramp {@code length} pixels long rising from 0 to 1, sampled at pixel centres and
     * rounded to a multiple of 1/QUANTUM: {@code round((k + 0.5) / length * QUANTUM)}.
     */
    private static int rampUp(long k, long length) {
        return (int) (((2 * k + 1) * QUANTUM + length) / (2 * length));
    }
}
