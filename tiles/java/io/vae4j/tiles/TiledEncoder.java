package io.vae4j.tiles;

import io.vae4j.VaeException;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.model.nn.NormStats;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.ImageStripReader;
import io.vae4j.tiles.plan.Region;
import io.vae4j.tiles.plan.Tile;
import io.vae4j.tiles.plan.TilePlan;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Encodes a PNG or TIFF image tile by tile, reading it in strips ({@link ImageStripReader}), so that only one tile
 * row's band of image rows and one tile's activations are in memory; the latent (64 times smaller) is returned
 * whole. The posterior mean is kept.
 *
 * <p>Tiles are planned in latent pixels as for decoding (the image sides must be multiples of the model's scale);
 * each tile's input is its core plus the halo, and its core is kept. TAESD encoders are convolutions with a
 * bounded receptive field, covered by {@link TiledDecoder#defaultHalo}: tiled equals untiled up to float rounding.
 * For encoders with GroupNorm (AutoencoderKL) the statistics come from one untiled encode of the image
 * area-averaged by the smallest integer factor that fits the budget (an extra streaming pass over the file) and are
 * frozen for every tile ("fast" mode, an approximation).
 */
public final class TiledEncoder {
    private final Vae vae;
    private final TiledDecoder.Options options;

    public TiledEncoder(Vae vae, TiledDecoder.Options options) {
        this.vae = vae;
        this.options = options;
    }

    private int halo() {
        return options.halo() >= 0 ? options.halo() : TiledDecoder.defaultHalo(vae);
    }

    /** The plan for an image of {@code height x width} pixels (multiples of the model's scale). */
    public TilePlan plan(int height, int width) {
        int f = vae.downscale();
        if (height % f != 0 || width % f != 0) {
            throw new VaeException("tiled encoding needs image sides that are multiples of " + f + ", got " + width
                    + "x" + height);
        }
        if (options.tileEdge() > 0) {
            return TilePlan.of(height / f, width / f, options.tileEdge(), halo(), f);
        }
        long perLatentPixel = Math.max(1, vae.decodeActivationBytes(f * 16, f * 16) / 256);
        return TilePlan.auto(height / f, width / f, f, options.memoryBudget() / 2, perLatentPixel, halo());
    }

    /** The latent mean [1, C, H/f, W/f] of the image in {@code file}; progress per tile. */
    public Tensor encode(Path file, PixelRange range, Progress progress) {
        TilePlan plan;
        try (ImageStripReader probe = ImageStripReader.open(file, range)) {
            plan = plan(probe.height(), probe.width());
        }
        return encode(file, range, plan, progress);
    }

    public Tensor encode(Path file, PixelRange range, TilePlan plan, Progress progress) {
        int f = vae.downscale();
        NormStats stats = new NormStats();
        if (hasGroupNorm()) {
            try (Tensor small = downsampled(file, range, plan)) {
                stats.record(() -> vae.encode(small)).close();
            }
        }
        Tensor latent = Tensor.allocate(1, vae.latentChannels(), plan.latentHeight(), plan.latentWidth());
        Tensor band = null;
        int bandFrom = 0;
        try (ImageStripReader reader = ImageStripReader.open(file, range)) {
            for (int r = 0; r < plan.rows(); r++) {
                Region rowInput = plan.toImage(plan.row(r).getFirst().input());
                int from = rowInput.y(), to = rowInput.yEnd();
                Tensor next = Tensor.allocate(1, 3, to - from, plan.imageWidth());
                int kept = 0;
                if (band != null) {
                    kept = Math.max(0, bandFrom + band.dim(2) - from);
                    copyRows(band, from - bandFrom, next, 0, kept);
                    band.close();
                }
                band = next;
                bandFrom = from;
                if (to - from - kept > 0) {
                    try (Tensor fresh = reader.readRows(to - from - kept)) {
                        copyRows(fresh, 0, band, kept, fresh.dim(2));
                    }
                }
                for (Tile t : plan.row(r)) {
                    Region in = plan.toImage(t.input());
                    try (Tensor image = crop(band, in.y() - bandFrom, in.x(), in.height(), in.width());
                         Moments m = stats.size() > 0 ? stats.frozen(() -> vae.encode(image)) : vae.encode(image)) {
                        Region core = t.coreInInput();
                        placeLatent(m.mean(), core, t.core(), latent);
                        progress.tileDone(plan.toImage(t.core()).area());
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            latent.close();
            throw e;
        } finally {
            if (band != null) {
                band.close();
            }
        }
        return latent;
    }

    private boolean hasGroupNorm() {
        int f = vae.downscale();
        NormStats probe = new NormStats();
        try (Tensor image = Tensor.allocate(1, 3, 2 * f, 2 * f)) {
            probe.record(() -> vae.encode(image)).close();
        }
        return probe.size() > 0;
    }

    /** The image area-averaged by the smallest factor whose encode fits half the budget, read in strips. */
    private Tensor downsampled(Path file, PixelRange range, TilePlan plan) {
        int f = vae.downscale(), h = plan.latentHeight(), w = plan.latentWidth();
        int k = 1;
        while (vae.decodeActivationBytes((h + k - 1) / k * f, (w + k - 1) / k * f) > options.memoryBudget() / 2
                && (h + k - 1) / k > 8) {
            k++;
        }
        int sh = (h + k - 1) / k * f, sw = (w + k - 1) / k * f, width = plan.imageWidth();
        double[] sum = new double[3 * sh * sw];
        int[] count = new int[sh * sw];
        try (ImageStripReader reader = ImageStripReader.open(file, range)) {
            while (reader.rowsLeft() > 0) {
                int y0 = reader.rowsRead();
                try (Tensor strip = reader.readRows(Math.min(64, reader.rowsLeft()))) {
                    int rows = strip.dim(2);
                    for (int c = 0; c < 3; c++) {
                        for (int y = 0; y < rows; y++) {
                            int oy = (y0 + y) / k;
                            for (int x = 0; x < width; x++) {
                                sum[(c * sh + oy) * sw + x / k] += strip.get(((long) c * rows + y) * width + x);
                                if (c == 0) {
                                    count[oy * sw + x / k]++;
                                }
                            }
                        }
                    }
                }
            }
        }
        Tensor small = Tensor.allocate(1, 3, sh, sw);
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < sh * sw; i++) {
                // Pixels past the image (the size rounded up to the scale) have no samples and stay 0.
                small.set((long) c * sh * sw + i, count[i] == 0 ? 0 : (float) (sum[c * sh * sw + i] / count[i]));
            }
        }
        return small;
    }

    private static Tensor crop(Tensor band, int y, int x, int h, int w) {
        Tensor out = Tensor.allocate(1, 3, h, w);
        int bw = band.dim(3), bh = band.dim(2);
        for (int c = 0; c < 3; c++) {
            for (int r = 0; r < h; r++) {
                MemorySegment.copy(band.data(), (((long) c * bh + y + r) * bw + x) * 4, out.data(),
                        (((long) c * h + r) * w) * 4, (long) w * 4);
            }
        }
        return out;
    }

    private static void copyRows(Tensor from, int fromRow, Tensor to, int toRow, int rows) {
        if (rows <= 0) {
            return;
        }
        int w = from.dim(3);
        for (int ch = 0; ch < 3; ch++) {
            MemorySegment.copy(from.data(), (((long) ch * from.dim(2) + fromRow) * w) * 4, to.data(),
                    (((long) ch * to.dim(2) + toRow) * w) * 4, (long) rows * w * 4);
        }
    }

    /** The core (at {@code inTile} of the tile's latent) into the whole latent at {@code at}. */
    private static void placeLatent(Tensor tileLatent, Region inTile, Region at, Tensor latent) {
        int c = latent.dim(1), lh = latent.dim(2), lw = latent.dim(3), th = tileLatent.dim(2), tw = tileLatent.dim(3);
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < at.height(); y++) {
                for (int x = 0; x < at.width(); x++) {
                    float v = tileLatent.get(((long) ch * th + inTile.y() + y) * tw + inTile.x() + x);
                    latent.set(((long) ch * lh + at.y() + y) * lw + at.x() + x, v);
                }
            }
        }
    }
}
