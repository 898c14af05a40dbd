package io.vae4j.tiles;

import io.vae4j.VaeException;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.Vae;
import io.vae4j.model.nn.NormStats;
import io.vae4j.model.taesd.DecodeWindow;
import io.vae4j.model.taesd.Taesd;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.ImageStripWriter;
import io.vae4j.tiles.plan.Feather;
import io.vae4j.tiles.plan.Region;
import io.vae4j.tiles.plan.RowBand;
import io.vae4j.tiles.plan.Tile;
import io.vae4j.tiles.plan.TilePlan;

import java.io.Serializable;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Decodes a latent [1, C, h, w] tile by tile into an {@link ImageStripWriter}, so that only one tile's
 * activations and one tile row's output strip are in memory, whatever the image size.
 *
 * <p>Each tile is its core grown by a halo of latent pixels ({@link TilePlan}), decoded with {@link Vae#decode}.
 * <ul>
 *   <li><b>GroupNorm</b> ("fast" tiling): statistics are recorded once ({@link NormStats}) from a decode of the
 *   latent area-averaged by the smallest integer factor whose untiled decode fits the memory budget (the latent
 *   itself, factor 1, when it fits), then frozen for every tile, so that all tiles are normalised alike. With
 *   factor 1 they are exactly the image's statistics. Models with no GroupNorm skip this pass.</li>
 *   <li><b>Blending</b>: TAESD decoders are convolutions with a bounded receptive field; with
 *   {@link #defaultHalo} (at least that field) each tile's core is cropped and the result equals the untiled
 *   decode up to float rounding (taef2's Pool GroupNorm too, when its statistics come from factor 1).
 *   AutoencoderKL decoders see the whole image (mid-block attention) and have a receptive field larger than any
 *   affordable halo: their tiles are blended over the halo with {@link Feather} weights, which hides the seams;
 *   the result is an approximation (see the tests for the PSNR measured).</li>
 * </ul>
 * Output rows are handed to the writer band by band as they become final (a feathered band waits for the ramp
 * below it); the writer streams them to disk.
 */
public final class TiledDecoder {
    /** Default memory budget when none is given: 2 GiB. */
    public static final long DEFAULT_BUDGET = 2L << 30;
    /**
     * Resident memory of a decode outside the latent, the tiles and their output rows: the JVM, its heap and
     * code, and the weights. Measured: see README "Huge images".
     */
    public static final long BASELINE_BYTES = 320L << 20;

    /**
     * @param tileEdge     largest core edge in latent pixels, or 0 to choose from the budget
     * @param halo         latent pixels of context around each core, or -1 for {@link #defaultHalo}
     * @param memoryBudget bytes the whole decode may use: TAESD windows get what the latent and the baseline
     *                     leave (see {@link #plan}); other models' tiles about half, strips and weights the rest
     */
    public record Options(int tileEdge, int halo, long memoryBudget) {
        public static Options auto(long memoryBudget) {
            return new Options(0, -1, memoryBudget);
        }
    }

    /**
     * What a run did.
     *
     * @param statsFactor  area-average factor of the statistics pass (0: none, the model has no GroupNorm)
     * @param normLayers   GroupNorm layers whose statistics were frozen
     * @param feathered    whether tiles were blended (else cropped to their cores)
     * @param nonFinite    NaN values the writer met
     */
    public record Result(int statsFactor, int normLayers, boolean feathered, long nonFinite) {
    }

    private final Vae vae;
    private final Options options;

    public TiledDecoder(Vae vae, Options options) {
        this.vae = vae;
        this.options = options;
    }

    /**
     * The halo, in latent pixels, that covers a decoder's receptive field where it has one. TAESD's 8x decoders:
     * 10 3x3 convolutions at latent resolution, 10 at 2x, 10 at 4x and 5 at 8x reach 10 + 5 + 2.5 + 0.6 &lt; 19
     * latent pixels, so a halo of 19 makes tiles exact; 20 is used. (Measured on taesd_random: 5e-4 max abs
     * difference at halo 10, 4e-5 at 12, float noise 2e-6 from 14 on: far pixels weigh little.) TAESana
     * (32x) has two more stages at coarser steps: 24. AutoencoderKL: 8 (feathered; see the class comment).
     */
    public static int defaultHalo(Vae vae) {
        if (vae instanceof Taesd) {
            return vae.downscale() > 8 ? 24 : 20;
        }
        return 8;
    }

    private int halo() {
        return options.halo() >= 0 ? options.halo() : defaultHalo(vae);
    }

    /** Whether tiles are blended over their halos (AutoencoderKL) rather than cropped (TAESD). */
    public boolean feathers() {
        return !(vae instanceof Taesd);
    }

    /**
     * The tile plan for a latent of h x w: the given tile edge, or the largest that fits the budget. Cropped TAESD
     * tiles are decoded as windows ({@link Taesd#decodeWindow}): what must fit is the resident latent, the baseline,
     * a window's activations and one tile row of output; the other models' tiles get half the budget.
     */
    public TilePlan plan(int h, int w) {
        int f = vae.downscale();
        if (options.tileEdge() > 0) {
            return TilePlan.of(h, w, options.tileEdge(), halo(), f);
        }
        if (windowed()) {
            Taesd taesd = (Taesd) vae;
            int halo = halo();
            long imageWidth = (long) w * f;
            return TilePlan.auto(h, w, f, room(h, w), halo, (ch, cw, ih, iw) -> taesd.decodeWindowBytes(ch, cw, halo)
                    + 4L * vae.latentChannels() * ih * iw + 3L * 4 * ch * f * imageWidth);
        }
        long perLatentPixel = Math.max(1, vae.decodeActivationBytes(f * 16, f * 16) / 256);
        return TilePlan.auto(h, w, f, options.memoryBudget() / 2, perLatentPixel, halo());
    }

    /** Whether tiles are TAESD windows, cropped to their cores stage by stage. */
    private boolean windowed() {
        return vae instanceof Taesd t && t.canDecode() && !feathers();
    }

    /**
     * Bytes of the budget left for the model's work once the float32 latent, held for the whole decode, and the
     * baseline are counted.
     */
    long room(int h, int w) {
        long room = options.memoryBudget() - BASELINE_BYTES - 4L * vae.latentChannels() * h * w;
        if (room <= 0) {
            throw new VaeException("a memory budget of " + (options.memoryBudget() >> 20) + " MiB is too small for a "
                    + h + "x" + w + " latent: it and the runtime take " + ((options.memoryBudget() - room) >> 20)
                    + " MiB before any tile");
        }
        return room;
    }

    /**
     * Decodes {@code latent} (raw, [1, C, h, w]) per {@code plan} into {@code writer}, which this closes on
     * success and aborts on any failure (no file is left behind).
     */
    public Result decode(Tensor latent, TilePlan plan, ImageStripWriter writer, PixelRange range, Progress progress) {
        return decode(latent, plan, writer, range, progress, null, null);
    }

    /**
     * As {@link #decode(Tensor, TilePlan, ImageStripWriter, PixelRange, Progress)}, with the tiles decoded by
     * {@code source} (a cluster's executors, say) from {@code stats}; this places or blends what it hands back
     * and writes the rows in order. Null for both: the tiles are decoded here, with statistics recorded here.
     */
    public Result decode(Tensor latent, TilePlan plan, ImageStripWriter writer, PixelRange range, Progress progress,
                         Stats stats, TileSource source) {
        return decode(latent, plan, List.of(writer), range, progress, stats, source);
    }

    /**
     * The frames of a video, latent [T, C, h, w], decoded together tile by tile (a temporal decoder's tiles hold
     * every frame), frame t into {@code writers.get(t)}; all are closed on success and aborted on any failure.
     * Statistics and tiles as for one image.
     */
    public Result decode(Tensor latent, TilePlan plan, List<ImageStripWriter> writers, PixelRange range,
                         Progress progress, Stats stats, TileSource source) {
        try {
            Result r = run(latent, plan, writers, range, progress, stats, source);
            for (ImageStripWriter w : writers) {
                w.close();
            }
            return r;
        } catch (RuntimeException | Error e) {
            for (ImageStripWriter w : writers) {
                w.abort();
            }
            throw e;
        }
    }

    /**
     * Where a tile row's decoded tiles come from: each output as {@link #decodeTile} gives it, handed to
     * {@code done} (in any order) and closed by the source once {@code done} returns.
     */
    @FunctionalInterface
    public interface TileSource {
        void decodeRow(int row, List<Tile> tiles, BiConsumer<Tile, Tensor> done);
    }

    /** The tiles decoded here, one after another, so that one tile's activations are alive at a time. */
    private TileSource localTiles(Tensor latent, TilePlan plan, Stats whole) {
        NormStats stats = whole.norms();
        boolean windowed = windowed();
        return (row, tiles, done) -> {
            List<Integer> lastShape = List.of();
            for (Tile t : tiles) {
                // Tiles of one shape reuse each other's freed activation blocks; those of another shape (at
                // the edges) cannot, and idle they would stay resident on top of the budget.
                List<Integer> shape = shapeOf(t);
                if (!shape.equals(lastShape)) {
                    Tensor.releaseIdle();
                    lastShape = shape;
                }
                try (Tensor z = crop(latent, t.input());
                     Tensor out = stats.size() > 0 ? stats.frozen(() -> decodeTile(z, t, plan, windowed))
                             : decodeTile(z, t, plan, windowed)) {
                    done.accept(t, out);
                }
            }
        };
    }

    private Result run(Tensor latent, TilePlan plan, List<ImageStripWriter> writers, PixelRange range,
                       Progress progress, Stats stats, TileSource source) {
        if (latent.rank() != 4 || latent.dim(0) != writers.size()) {
            throw new VaeException("tiled decoding takes one latent [1, C, h, w] (or a video's frames, one writer"
                    + " each); got " + java.util.Arrays.toString(latent.shape()) + " for " + writers.size()
                    + " output(s)");
        }
        int items = writers.size();
        int h = latent.dim(2), w = latent.dim(3), f = vae.downscale();
        if (plan.latentHeight() != h || plan.latentWidth() != w || plan.downscale() != f) {
            throw new IllegalArgumentException(plan + " does not fit latent " + h + "x" + w);
        }
        for (ImageStripWriter writer : writers) {
            if (writer.width() != plan.imageWidth() || writer.height() != plan.imageHeight()) {
                throw new IllegalArgumentException("writer of " + writer.width() + "x" + writer.height() + " for "
                        + plan);
            }
        }
        Stats whole = stats != null ? stats : stats(latent);
        TileSource tiles = source != null ? source : localTiles(latent, plan, whole);
        int factor = whole.factor();
        boolean windowed = windowed();
        boolean feather = feathers();
        Feather weights = feather ? Feather.of(plan) : null;
        int width = plan.imageWidth();
        long nonFinite = 0;
        Tensor acc = null;
        int accFrom = 0;
        try {
            for (int r = 0; r < plan.rows(); r++) {
                RowBand band = feather ? weights.rowBand(r) : plan.rowBand(r);
                int accEnd = band.to();
                if (feather) {
                    for (Tile t : plan.row(r)) {
                        accEnd = Math.max(accEnd, weights.support(t).yEnd());
                    }
                }
                // A new tile row starts with a new tile shape: the last row's idle blocks go before its
                // accumulator comes, and a previous accumulator with nothing to carry over goes too.
                Tensor.releaseIdle();
                if (acc != null && acc.dim(2) <= band.from() - accFrom) {
                    acc.close();
                    acc = null;
                }
                // The accumulator for this tile row: rows [band.from, accEnd), with what the previous row left.
                Tensor next = Tensor.allocate(items, 3, accEnd - band.from(), width);
                if (acc != null) {
                    copyRows(acc, band.from() - accFrom, next, 0, acc.dim(2) - (band.from() - accFrom));
                    acc.close();
                }
                acc = next;
                accFrom = band.from();
                Tensor into = acc;
                int intoFrom = accFrom;
                tiles.decodeRow(r, plan.row(r), (t, out) -> {
                    // The window's output is its core alone.
                    Region in = plan.toImage(windowed ? t.core() : t.input());
                    if (feather) {
                        blend(out, in, weights.support(t), weights.rowWeights(t), weights.colWeights(t), into,
                                intoFrom);
                    } else {
                        place(out, in, plan.toImage(t.core()), into, intoFrom);
                    }
                    progress.tileDone(plan.toImage(t.core()).area());
                });
                if (acc.dim(2) == band.rows()) {
                    nonFinite += write(writers, acc, range);
                } else {
                    try (Tensor strip = Tensor.allocate(items, 3, band.rows(), width)) {
                        copyRows(acc, 0, strip, 0, band.rows());
                        nonFinite += write(writers, strip, range);
                    }
                }
            }
        } finally {
            if (acc != null) {
                acc.close();
            }
        }
        return new Result(factor, whole.norms().size(), feather, nonFinite);
    }

    /** Batch item i of {@code strip} to writer i. */
    private static long write(List<ImageStripWriter> writers, Tensor strip, PixelRange range) {
        if (writers.size() == 1) {
            return writers.getFirst().writeRows(strip, range);
        }
        long nonFinite = 0;
        for (int i = 0; i < writers.size(); i++) {
            try (Tensor item = strip.slice0(i, 1)) {
                nonFinite += writers.get(i).writeRows(item, range);
            }
        }
        return nonFinite;
    }

    /**
     * The GroupNorm statistics every tile is decoded with, and the area-average factor they were recorded at (0
     * and none recorded when the model has no GroupNorm).
     */
    public record Stats(NormStats norms, int factor) {
    }

    /**
     * {@link Stats} as plain values, to ship to other machines (a Spark broadcast): each GroupNorm layer's {mean,
     * rstd} in the order the layers run, and the area-average factor.
     */
    public record ShippedStats(ArrayList<float[][]> values, int factor) implements Serializable {
        public static ShippedStats of(Stats s) {
            return new ShippedStats(new ArrayList<>(s.norms().values()), s.factor());
        }
    }

    /**
     * {@code shipped}, recorded by another copy of this model, bound to this copy's layers (one tiny decode of
     * {@code latent}'s corner finds them): tiles decode with them as with the recording itself.
     *
     * @throws IllegalArgumentException when they were recorded with another model
     */
    public Stats stats(Tensor latent, ShippedStats shipped) {
        if (shipped.values().isEmpty()) {
            return new Stats(new NormStats(), shipped.factor());
        }
        return new Stats(cornerRecording(latent).withValues(shipped.values()), shipped.factor());
    }

    /** Records {@link Stats} for {@code latent} (raw, [1, C, h, w]): what a decode of its tiles needs first. */
    public Stats stats(Tensor latent) {
        NormStats stats = new NormStats();
        if (!hasGroupNorm(latent)) {
            return new Stats(stats, 0);
        }
        int factor = statsFactor(latent.dim(2), latent.dim(3));
        try (Tensor small = factor == 1 ? latent.copyF32() : areaDownsample(latent, factor)) {
            stats.record(() -> vae.decode(small)).close();
        }
        // Its activation sizes will not come again; idle, they would count against the tiles' budget.
        Tensor.releaseIdle();
        return new Stats(stats, factor);
    }

    /**
     * One tile of {@code plan} decoded on its own, for a caller that spreads tiles over machines: a cropped
     * (TAESD) tile gives its core's pixels, {@code plan.toImage(t.core())}; a feathered one its input's.
     */
    public Tensor decodeTile(Tensor latent, Tile t, TilePlan plan, Stats stats) {
        boolean windowed = windowed();
        try (Tensor z = crop(latent, t.input())) {
            return stats.norms().size() > 0 ? stats.norms().frozen(() -> decodeTile(z, t, plan, windowed))
                    : decodeTile(z, t, plan, windowed);
        }
    }

    /** What decides a tile's activation sizes: its input and core sizes and where the core sits in the input. */
    private static List<Integer> shapeOf(Tile t) {
        Region in = t.input(), core = t.core();
        return List.of(in.height(), in.width(), core.y() - in.y(), core.x() - in.x(), core.height(), core.width());
    }

    private Tensor decodeTile(Tensor z, Tile t, TilePlan plan, boolean windowed) {
        if (!windowed) {
            return vae.decode(z);
        }
        Region in = t.input(), core = t.core();
        return ((Taesd) vae).decodeWindow(z, new DecodeWindow(plan.latentHeight(), plan.latentWidth(), in.y(),
                in.x(), core.y(), core.x(), core.height(), core.width()));
    }

    /** Whether the model has GroupNorm layers: a recording of a tiny decode says. */
    private boolean hasGroupNorm(Tensor latent) {
        return cornerRecording(latent).size() > 0;
    }

    /** A recording of a decode of the latent's 4x4 corner: which GroupNorm layers run, in their order. */
    private NormStats cornerRecording(Tensor latent) {
        NormStats probe = new NormStats();
        try (Tensor z = crop(latent, new Region(0, 0, Math.min(4, latent.dim(2)), Math.min(4, latent.dim(3))))) {
            probe.record(() -> vae.decode(z)).close();
        }
        return probe;
    }

    /**
     * The smallest area-average factor whose untiled decode fits: next to the resident latent for windowed TAESD
     * tiles (see {@link #room}), in half the budget otherwise.
     */
    int statsFactor(int h, int w) {
        int f = vae.downscale();
        long fits = windowed() ? room(h, w) : options.memoryBudget() / 2;
        for (int k = 1; ; k++) {
            int sh = (h + k - 1) / k, sw = (w + k - 1) / k;
            if (vae.decodeActivationBytes(sh * f, sw * f) <= fits || (sh <= 8 && sw <= 8)) {
                return k;
            }
        }
    }

    /** x [N, C, h, w] averaged over k x k blocks (the last ones partial), [N, C, ceil(h/k), ceil(w/k)]. */
    static Tensor areaDownsample(Tensor x, int k) {
        int c = x.dim(1), h = x.dim(2), w = x.dim(3), sh = (h + k - 1) / k, sw = (w + k - 1) / k;
        Tensor out = Tensor.allocate(x.dim(0), c, sh, sw);
        for (int ch = 0; ch < x.dim(0) * c; ch++) {
            for (int y = 0; y < sh; y++) {
                for (int xx = 0; xx < sw; xx++) {
                    double sum = 0;
                    int n = 0;
                    for (int dy = y * k; dy < Math.min(h, y * k + k); dy++) {
                        for (int dx = xx * k; dx < Math.min(w, xx * k + k); dx++) {
                            sum += x.get(((long) ch * h + dy) * w + dx);
                            n++;
                        }
                    }
                    out.set(((long) ch * sh + y) * sw + xx, (float) (sum / n));
                }
            }
        }
        return out;
    }

    /** The latent pixels of {@code r} in every batch item, as a new float32 [N, C, r.height, r.width]. */
    static Tensor crop(Tensor z, Region r) {
        int c = z.dim(1), h = z.dim(2), w = z.dim(3);
        Tensor out = Tensor.allocate(z.dim(0), c, r.height(), r.width());
        for (int ch = 0; ch < z.dim(0) * c; ch++) {
            for (int y = 0; y < r.height(); y++) {
                long src = ((long) ch * h + r.y() + y) * w + r.x();
                long dst = ((long) ch * r.height() + y) * r.width();
                for (int x = 0; x < r.width(); x++) {
                    out.set(dst + x, z.get(src + x));
                }
            }
        }
        return out;
    }

    /** Copies {@code rows} rows of every channel of an [N, 3, *, W] float32 tensor to another. */
    private static void copyRows(Tensor from, int fromRow, Tensor to, int toRow, int rows) {
        if (rows <= 0) {
            return;
        }
        int w = from.dim(3);
        for (int ch = 0; ch < from.dim(0) * 3; ch++) {
            long src = (((long) ch * from.dim(2) + fromRow) * w) * 4;
            long dst = (((long) ch * to.dim(2) + toRow) * w) * 4;
            MemorySegment.copy(from.data(), src, to.data(), dst, (long) rows * w * 4);
        }
    }

    /** Cropped mode: the tile output's core pixels into the accumulator. */
    private static void place(Tensor out, Region in, Region core, Tensor acc, int accFrom) {
        int ow = out.dim(3), oh = out.dim(2), aw = acc.dim(3), ah = acc.dim(2);
        for (int ch = 0; ch < out.dim(0) * 3; ch++) {
            for (int y = core.y(); y < core.yEnd(); y++) {
                long src = (((long) ch * oh + y - in.y()) * ow + core.x() - in.x()) * 4;
                long dst = (((long) ch * ah + y - accFrom) * aw + core.x()) * 4;
                MemorySegment.copy(out.data(), src, acc.data(), dst, (long) core.width() * 4);
            }
        }
    }

    /** Feathered mode: adds the tile output times its weight over its support to the accumulator. */
    private static void blend(Tensor out, Region in, Region support, float[] rowW, float[] colW, Tensor acc,
                              int accFrom) {
        int ow = out.dim(3), oh = out.dim(2), aw = acc.dim(3), ah = acc.dim(2);
        for (int ch = 0; ch < out.dim(0) * 3; ch++) {
            for (int y = support.y(); y < support.yEnd(); y++) {
                float ry = rowW[y - in.y()];
                if (ry == 0) {
                    continue;
                }
                long src = ((long) ch * oh + y - in.y()) * ow - in.x();
                long dst = ((long) ch * ah + y - accFrom) * aw;
                for (int x = support.x(); x < support.xEnd(); x++) {
                    float wgt = ry * colW[x - in.x()];
                    if (wgt != 0) {
                        acc.set(dst + x, acc.get(dst + x) + wgt * out.get(src + x));
                    }
                }
            }
        }
    }
}
