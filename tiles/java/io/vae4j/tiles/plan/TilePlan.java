package io.vae4j.tiles.plan;

import io.vae4j.VaeException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * How a large latent (and the image {@code downscale} times larger that it decodes to or was encoded from) is cut
 * into tiles: pure arithmetic, no model code. All regions are in latent pixels; {@link Region#scale} with
 * {@link #downscale()} gives image pixels.
 *
 * <p>Each axis of length {@code L} is split into {@code n = ceil(L / tileEdge)} cores whose lengths differ by at
 * most one (the first {@code L mod n} are one longer), so no tile is a thin sliver and every core is at most
 * {@code tileEdge}. A tile's input region is its core grown by {@code halo} on every side, clamped to the latent.
 * Tiles are listed in row-major order. The cores partition the latent: every latent pixel, and so every image
 * pixel, belongs to exactly one core.
 *
 * <p>Running the model on each input region and keeping only each tile's core ({@link Tile#coreInInput()} times
 * the scale) gives the cropped ("halo") mode; {@link Feather} gives weights for blending the overlaps instead.
 */
public final class TilePlan {
    private final int latentHeight;
    private final int latentWidth;
    private final int tileEdge;
    private final int halo;
    private final int downscale;
    /** Core starts along each axis, with the axis length appended: core i is [starts[i], starts[i+1]). */
    private final int[] rowStarts;
    private final int[] colStarts;
    private final List<Tile> tiles;

    private TilePlan(int latentHeight, int latentWidth, int tileEdge, int halo, int downscale) {
        this.latentHeight = latentHeight;
        this.latentWidth = latentWidth;
        this.tileEdge = tileEdge;
        this.halo = halo;
        this.downscale = downscale;
        this.rowStarts = split(latentHeight, tileEdge);
        this.colStarts = split(latentWidth, tileEdge);
        List<Tile> list = new ArrayList<>((rowStarts.length - 1) * (colStarts.length - 1));
        for (int r = 0; r + 1 < rowStarts.length; r++) {
            for (int c = 0; c + 1 < colStarts.length; c++) {
                int y0 = rowStarts[r];
                int y1 = rowStarts[r + 1];
                int x0 = colStarts[c];
                int x1 = colStarts[c + 1];
                Region core = new Region(y0, x0, y1 - y0, x1 - x0);
                int iy0 = Math.max(0, y0 - halo);
                int iy1 = (int) Math.min(latentHeight, (long) y1 + halo);
                int ix0 = Math.max(0, x0 - halo);
                int ix1 = (int) Math.min(latentWidth, (long) x1 + halo);
                Region input = new Region(iy0, ix0, iy1 - iy0, ix1 - ix0);
                list.add(new Tile(list.size(), r, c, core, input));
            }
        }
        this.tiles = Collections.unmodifiableList(list);
    }

    /**
     * A plan with cores of at most {@code tileEdge} latent pixels.
     *
     * @param latentHeight latent rows
     * @param latentWidth  latent columns
     * @param tileEdge     largest core edge, in latent pixels (cores are balanced: see the class comment)
     * @param halo         latent pixels of context added around each core, clamped at the borders
     * @param downscale    image pixels per latent pixel along each axis (8 for the SD VAEs)
     */
    public static TilePlan of(int latentHeight, int latentWidth, int tileEdge, int halo, int downscale) {
        if (latentHeight <= 0 || latentWidth <= 0) {
            throw new IllegalArgumentException("empty latent " + latentHeight + "x" + latentWidth);
        }
        if (tileEdge <= 0 || halo < 0 || downscale <= 0) {
            throw new IllegalArgumentException("tile edge " + tileEdge + ", halo " + halo + ", downscale " + downscale);
        }
        if ((long) latentHeight * downscale > Integer.MAX_VALUE || (long) latentWidth * downscale > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("image of " + latentHeight + "x" + latentWidth + " latent pixels times "
                    + downscale + " is too large");
        }
        return new TilePlan(latentHeight, latentWidth, tileEdge, halo, downscale);
    }

    /**
     * The plan with the largest tile edge whose biggest input region fits the budget:
     * {@code inputArea * bytesPerLatentPixelOfWork <= memoryBudgetBytes}, where the input area counts the halo
     * (clamped at the borders). A latent that fits whole gives a single tile.
     *
     * @param bytesPerLatentPixelOfWork peak working memory of the model per latent pixel of a tile's input
     * @throws VaeException when not even a one-pixel core with its halo fits the budget
     */
    public static TilePlan auto(int latentH, int latentW, int downscale, long memoryBudgetBytes,
                                long bytesPerLatentPixelOfWork, int halo) {
        if (memoryBudgetBytes <= 0 || bytesPerLatentPixelOfWork <= 0) {
            throw new IllegalArgumentException("memory budget " + memoryBudgetBytes + " and bytes per latent pixel "
                    + bytesPerLatentPixelOfWork + " must be positive");
        }
        int lo = 1;
        int hi = Math.max(latentH, latentW);
        TilePlan smallest = of(latentH, latentW, 1, halo, downscale);
        if (!fits(smallest, memoryBudgetBytes, bytesPerLatentPixelOfWork)) {
            throw new VaeException("a memory budget of " + mib(memoryBudgetBytes) + " is too small: even a 1x1 latent "
                    + "tile with a halo of " + halo + " needs "
                    + mib(smallest.maxInputArea() * bytesPerLatentPixelOfWork));
        }
        // The largest core, and so the largest input region, grows monotonically with the tile edge.
        while (lo < hi) {
            int mid = (int) (((long) lo + hi + 1) / 2);
            if (fits(of(latentH, latentW, mid, halo, downscale), memoryBudgetBytes, bytesPerLatentPixelOfWork)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return of(latentH, latentW, lo, halo, downscale);
    }

    /** Peak bytes a tile needs, given its core and input region sizes in latent pixels. */
    @FunctionalInterface
    public interface TileCost {
        long bytes(int coreHeight, int coreWidth, int inputHeight, int inputWidth);
    }

    /**
     * The plan with the largest tile edge whose costliest tile fits {@code budgetBytes}. The cost is taken at an
     * upper bound of every tile of a plan: its largest core with a full halo on each side (clamped to the latent),
     * computed from the cut arithmetic alone, so that planning a gigapixel image builds no tile list per try.
     * {@code cost} must not decrease as any size grows. A latent that fits whole gives a single tile.
     *
     * @throws VaeException when not even a one-pixel core with its halo fits the budget
     */
    public static TilePlan auto(int latentH, int latentW, int downscale, long budgetBytes, int halo, TileCost cost) {
        if (latentH <= 0 || latentW <= 0 || halo < 0) {
            throw new IllegalArgumentException("latent " + latentH + "x" + latentW + ", halo " + halo);
        }
        if (bound(latentH, latentW, 1, halo, cost) > budgetBytes) {
            throw new VaeException("a memory budget of " + mib(budgetBytes) + " is too small: even a 1x1 latent"
                    + " tile with a halo of " + halo + " needs " + mib(bound(latentH, latentW, 1, halo, cost)));
        }
        int lo = 1;
        int hi = Math.max(latentH, latentW);
        while (lo < hi) {
            int mid = (int) (((long) lo + hi + 1) / 2);
            if (bound(latentH, latentW, mid, halo, cost) <= budgetBytes) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return of(latentH, latentW, lo, halo, downscale);
    }

    /** The cost of the largest core of an edge-{@code edge} plan with its full halo: at least every tile's. */
    static long bound(int latentH, int latentW, int edge, int halo, TileCost cost) {
        int ch = maxCore(latentH, edge), cw = maxCore(latentW, edge);
        int ih = (int) Math.min(latentH, ch + 2L * halo), iw = (int) Math.min(latentW, cw + 2L * halo);
        return cost.bytes(ch, cw, ih, iw);
    }

    /** The longest core {@link #split} gives an axis of {@code length} cut at {@code edge}. */
    static int maxCore(int length, int edge) {
        long n = (length + (long) edge - 1) / edge;
        return (int) ((length + n - 1) / n);
    }

    private static boolean fits(TilePlan p, long budget, long perPixel) {
        long area = p.maxInputArea();
        return area <= budget / perPixel;
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }

    /** Cut points of an axis of {@code length} into balanced cores of at most {@code edge}. */
    private static int[] split(int length, int edge) {
        int n = (int) ((length + (long) edge - 1) / edge);
        int base = length / n;
        int extra = length % n;
        int[] starts = new int[n + 1];
        for (int i = 0; i < n; i++) {
            starts[i + 1] = starts[i] + base + (i < extra ? 1 : 0);
        }
        return starts;
    }

    public int latentHeight() {
        return latentHeight;
    }

    public int latentWidth() {
        return latentWidth;
    }

    public int imageHeight() {
        return latentHeight * downscale;
    }

    public int imageWidth() {
        return latentWidth * downscale;
    }

    /** The requested largest core edge (cores may be smaller: see {@link #maxCoreHeight()}). */
    public int tileEdge() {
        return tileEdge;
    }

    public int halo() {
        return halo;
    }

    public int downscale() {
        return downscale;
    }

    /** Tile rows. */
    public int rows() {
        return rowStarts.length - 1;
    }

    /** Tile columns. */
    public int cols() {
        return colStarts.length - 1;
    }

    public int size() {
        return tiles.size();
    }

    /** All tiles, row-major. */
    public List<Tile> tiles() {
        return tiles;
    }

    public Tile tile(int row, int col) {
        return tiles.get(row * cols() + col);
    }

    /** The tiles of tile row {@code r}, left to right. */
    public List<Tile> row(int r) {
        return tiles.subList(r * cols(), (r + 1) * cols());
    }

    public int maxCoreHeight() {
        return maxGap(rowStarts);
    }

    public int maxCoreWidth() {
        return maxGap(colStarts);
    }

    /** The largest input region's area in latent pixels: what bounds the model's working memory. */
    public long maxInputArea() {
        long max = 0;
        for (Tile t : tiles) {
            max = Math.max(max, t.input().area());
        }
        return max;
    }

    /** A latent region in image pixels. */
    public Region toImage(Region latent) {
        return latent.scale(downscale);
    }

    /**
     * The image rows that are final once tile row {@code r} is done, in cropped mode (each tile keeps its core):
     * the core rows of that tile row, in image pixels.
     */
    public RowBand rowBand(int r) {
        return new RowBand(r, rowStarts[r] * downscale, rowStarts[r + 1] * downscale);
    }

    /** Latent start of core row {@code r} ({@code r == rows()} gives the latent height). */
    int rowStart(int r) {
        return rowStarts[r];
    }

    /** Latent start of core column {@code c} ({@code c == cols()} gives the latent width). */
    int colStart(int c) {
        return colStarts[c];
    }

    private static int maxGap(int[] starts) {
        int max = 0;
        for (int i = 0; i + 1 < starts.length; i++) {
            max = Math.max(max, starts[i + 1] - starts[i]);
        }
        return max;
    }

    @Override
    public String toString() {
        return "TilePlan[" + latentHeight + "x" + latentWidth + " latent, " + rows() + "x" + cols()
                + " tiles of at most "
                + maxCoreHeight() + "x" + maxCoreWidth() + ", halo " + halo + ", x" + downscale + "]";
    }
}
