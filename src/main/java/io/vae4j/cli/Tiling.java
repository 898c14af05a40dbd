package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.AttentionMode;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.ExactRunner;
import io.vae4j.tiles.Progress;
import io.vae4j.tiles.TiledDecoder;
import io.vae4j.tiles.TiledEncoder;
import io.vae4j.tiles.io.ImageStripReader;
import io.vae4j.tiles.io.ImageStripWriter;
import io.vae4j.tiles.io.StreamingPngWriter;
import io.vae4j.tiles.io.StreamingTiffWriter;
import io.vae4j.tiles.plan.TilePlan;

import io.vae4j.util.ResidentMemory;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * decode's and encode's tiling options: {@code --tile auto|N} (N: tile edge in image pixels),
 * {@code --tiling fast|exact|off}, {@code --memory SIZE} (the budget; default 2g), {@code --bit-depth 8|16},
 * {@code --scratch DIR} and {@code --attention auto|global|tiled|off} (exact mode). Without {@code --tiling} or
 * {@code --tile N}, the untiled run goes ahead whenever its estimated memory fits the budget; otherwise "exact"
 * runs when the scratch directory has the space and the attention stays under its global limit, and "fast" when
 * not.
 */
final class Tiling {
    enum Mode { AUTO, FAST, EXACT, OFF }

    /**
     * The largest latent (in pixels, i.e. attention tokens) whose mid-block attention exact mode runs globally
     * without being told to: 256x256, a 2048x2048 image. Attention costs grow with its square; measured in the
     * README ("exact mode").
     */
    static final long GLOBAL_ATTENTION_TOKENS = 256L * 256;

    private final Mode mode;
    /** Tile edge in image pixels, 0 for auto. */
    private final int tile;
    private final long memory;
    private final int bitDepth;
    private final String ext;
    private final Path scratch;
    /** The --attention asked for, null for auto. */
    private final AttentionMode attention;
    ExactRunner.FreeSpace freeSpace = ExactRunner.FreeSpace.FILE_STORE;

    private Tiling(Mode mode, int tile, long memory, int bitDepth, String ext, Path scratch, AttentionMode attention) {
        this.mode = mode;
        this.tile = tile;
        this.memory = memory;
        this.bitDepth = bitDepth;
        this.ext = ext;
        this.scratch = scratch;
        this.attention = attention;
    }

    static Tiling of(Args args, String ext, int preview) {
        String t = args.get("tiling", "auto").toLowerCase(Locale.ROOT);
        Mode mode = switch (t) {
            case "auto" -> Mode.AUTO;
            case "fast" -> Mode.FAST;
            case "off" -> Mode.OFF;
            case "exact" -> Mode.EXACT;
            default -> throw new Args.UsageException("--tiling must be fast, exact or off, got '" + t + "'");
        };
        String tileArg = args.get("tile", "auto");
        int tile = 0;
        if (!tileArg.equals("auto")) {
            tile = args.integer("tile", 0);
            if (tile <= 0 || tile % 8 != 0) {
                throw new Args.UsageException("--tile must be auto or a positive multiple of 8 (image pixels), got "
                        + tileArg);
            }
            if (mode == Mode.AUTO) {
                mode = Mode.FAST;
            }
        }
        if ((mode == Mode.OFF || mode == Mode.EXACT) && tile > 0) {
            throw new Args.UsageException("--tile " + tile + " with --tiling " + t + " (which runs the whole image)");
        }
        long memory = parseSize(args.get("memory", "2g"));
        int bitDepth = args.integer("bit-depth", 8);
        if (bitDepth != 8 && bitDepth != 16) {
            throw new Args.UsageException("--bit-depth must be 8 or 16, got " + bitDepth);
        }
        if (bitDepth == 16 && ext.equals("npy")) {
            throw new Args.UsageException("--bit-depth applies to .png and .tif outputs; .npy is float32");
        }
        if ((mode == Mode.FAST || mode == Mode.EXACT) && (ext.equals("npy") || preview != 1)) {
            throw new Args.UsageException("tiled decoding writes .png or .tif images, without --preview-scale");
        }
        Path scratch = Path.of(args.get("scratch", System.getProperty("java.io.tmpdir")));
        String a = args.get("attention", "auto");
        AttentionMode attention = a.equalsIgnoreCase("auto") ? null : ExactOptions.attentionMode(a);
        return new Tiling(mode, tile, memory, bitDepth, ext, scratch, attention);
    }

    /** "512m", "2g", "1.5g", "800k" or a plain byte count. */
    static long parseSize(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        if (v.endsWith("b")) {
            v = v.substring(0, v.length() - 1);
        }
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                case 't' -> unit = 1L << 40;
                default -> unit = 1;
            }
            if (unit > 1) {
                v = v.substring(0, v.length() - 1);
            }
        }
        try {
            double d = Double.parseDouble(v);
            if (!(d > 0) || d * unit > Long.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return (long) (d * unit);
        } catch (NumberFormatException e) {
            throw new Args.UsageException("--memory expects a size such as 512m or 2g, got '" + s + "'");
        }
    }

    int bitDepth() {
        return bitDepth;
    }

    /** Whether this latent is decoded tiled: asked for, or (auto) its untiled decode would not fit the budget. */
    boolean tiled(Vae vae, Tensor z) {
        return switch (mode) {
            case OFF -> false;
            case FAST, EXACT -> true;
            case AUTO -> !ext.equals("npy") && z.rank() == 4 && z.dim(0) == 1
                    && vae.decodeActivationBytes(z.dim(2) * vae.downscale(), z.dim(3) * vae.downscale()) > memory;
        };
    }

    /** The attention mode of untiled and fast runs: as asked, else global (their latents are small). */
    AttentionMode attention() {
        return attention == null ? AttentionMode.GLOBAL : attention;
    }

    /**
     * The attention of an exact run over a latent of this many pixels, or null where auto cannot choose one:
     * past {@link #GLOBAL_ATTENTION_TOKENS}, the user has to.
     */
    private AttentionMode exactAttention(long tokens) {
        return attention != null ? attention : tokens <= GLOBAL_ATTENTION_TOKENS ? AttentionMode.GLOBAL : null;
    }

    /**
     * Whether a tiled run of this size is exact: asked for, or (auto) when the scratch directory has the space
     * and the attention needs no choice; the reason is logged.
     */
    private boolean exact(ExactRunner runner, boolean decode, int height, int width, long tokens) {
        if (mode == Mode.EXACT) {
            if (exactAttention(tokens) == null) {
                throw new VaeException("the latent has " + tokens + " pixels, past the " + GLOBAL_ATTENTION_TOKENS
                        + " up to which exact mode runs the mid-block attention over the whole image (its cost"
                        + " grows with the square); choose --attention tiled (windows of " + AttentionMode.WINDOW
                        + "x" + AttentionMode.WINDOW + " latent pixels), --attention off (skip it), or --attention"
                        + " global (slow)");
            }
            return true;
        }
        if (mode != Mode.AUTO) {
            return false;
        }
        if (exactAttention(tokens) == null) {
            Log.info("tiling auto: fast, as the latent is past the size up to which exact mode attends globally"
                    + " (--attention tiled|off with --tiling exact runs it exactly otherwise)");
            return false;
        }
        try {
            if (decode) {
                runner.checkDecodeSpace(height, width);
            } else {
                runner.checkEncodeSpace(height, width);
            }
        } catch (VaeException e) {
            Log.info("tiling auto: fast, as exact cannot run: " + e.getMessage());
            return false;
        }
        return true;
    }

    private ExactRunner exactRunner(Vae vae, long tokens) {
        AttentionMode a = exactAttention(tokens);
        return new ExactRunner(vae, new ExactRunner.Options(scratch, a == null ? AttentionMode.GLOBAL : a,
                ScratchSpace.DEFAULT_THRESHOLD, ExactOptions.residentSlack(), freeSpace));
    }

    /** The tiled (fast or exact) decode of raw latent z [1, C, h, w] streamed into {@code out}. */
    void decode(Vae vae, Tensor z, Path out, String ext, boolean quiet) {
        if (z.dim(0) != 1) {
            throw new VaeException("tiled decoding takes a single latent; this file holds " + z.dim(0));
        }
        int f = vae.downscale();
        long tokens = (long) z.dim(2) * z.dim(3);
        ExactRunner runner = exactRunner(vae, tokens);
        if (exact(runner, true, z.dim(2) * f, z.dim(3) * f, tokens)) {
            decodeExact(runner, vae, z, out, ext, tokens);
            return;
        }
        if (tile % f != 0) {
            throw new VaeException("--tile " + tile + " is not a multiple of the model's " + f + "x scale");
        }
        TiledDecoder decoder = new TiledDecoder(vae, new TiledDecoder.Options(tile / f, -1, memory));
        TilePlan plan = decoder.plan(z.dim(2), z.dim(3));
        Log.info("tiled decode (fast): " + plan + (decoder.feathers() ? ", feathered" : ", cropped"));
        ImageStripWriter writer = open(out, ext, plan.imageWidth(), plan.imageHeight(), bitDepth);
        Progress progress = Progress.toStderr("decode", plan.size(), (long) plan.imageWidth() * plan.imageHeight(),
                quiet);
        TiledDecoder.Result r = attention().where(() -> decoder.decode(z, plan, writer, Ranges.of(vae.imageRange()),
                progress));
        progress.finish();
        if (r.nonFinite() > 0) {
            Log.warn(r.nonFinite() + " output values are NaN (written as 0)");
        }
        Log.info("wrote " + out + (r.statsFactor() > 0 ? "; GroupNorm statistics of " + r.normLayers()
                + " layers from a " + (r.statsFactor() == 1 ? "full-size" : "1/" + r.statsFactor() + "-size")
                + " pass" : ""));
    }

    private void decodeExact(ExactRunner runner, Vae vae, Tensor z, Path out, String ext, long tokens) {
        int f = vae.downscale(), h = z.dim(2) * f, w = z.dim(3) * f;
        AttentionMode a = exactAttention(tokens);
        Log.info("exact decode " + w + "x" + h + ": whole image, layer by layer, large activations in scratch"
                + " files under " + scratch + " (about " + ExactRunner.gib(vae.decodePeakBytes(h, w)) + " at the"
                + " peak), attention " + a.id());
        long start = System.nanoTime();
        ImageStripWriter writer = open(out, ext, w, h, bitDepth);
        ExactRunner.Result r = runner.decode(z, writer, Ranges.of(vae.imageRange()));
        if (r.nonFinite() > 0) {
            Log.warn(r.nonFinite() + " output values are NaN (written as 0)");
        }
        Log.info("wrote " + out);
        summary("decode", w, h, start, r);
    }

    /** The one-line summary of an exact run: time, the process's peak memory, scratch used. */
    private void summary(String what, int w, int h, long start, ExactRunner.Result r) {
        Log.info(String.format("exact %s %dx%d: %.1f s, peak RSS %s, scratch %s at the peak (estimated %s)", what,
                w, h, (System.nanoTime() - start) / 1e9, ExactRunner.gib(Math.max(0, ResidentMemory.peak())),
                ExactRunner.gib(r.scratchPeak()), ExactRunner.gib(r.scratchEstimate())));
    }

    /** Whether an image file (PNG or TIFF) is encoded tiled: asked for, or its untiled run would not fit. */
    boolean tiledEncode(Vae vae, Path image, PixelRange range) {
        if (mode == Mode.OFF) {
            return false;
        }
        if (mode == Mode.FAST || mode == Mode.EXACT) {
            return true;
        }
        try (ImageStripReader r = ImageStripReader.open(image, range)) {
            return vae.decodeActivationBytes(r.height(), r.width()) > memory;
        }
    }

    /**
     * The tiled encode of a PNG or TIFF file: the raw posterior mean [1, C, H/f, W/f], and with exact mode the
     * log-variance too.
     */
    Moments encode(Vae vae, Path image, PixelRange range, long maxPixels, boolean quiet) {
        int f = vae.downscale();
        try (ImageStripReader r = ImageStripReader.open(image, range)) {
            if ((long) r.width() * r.height() > maxPixels) {
                throw new VaeException(image + ": image has " + (long) r.width() * r.height()
                        + " pixels, over the limit of " + maxPixels + " (raise it with --max-pixels)");
            }
            long tokens = (long) (r.height() / f) * (r.width() / f);
            ExactRunner runner = exactRunner(vae, tokens);
            if (exact(runner, false, r.height(), r.width(), tokens)) {
                Log.info("exact encode " + r.width() + "x" + r.height() + ": whole image, layer by layer, large"
                        + " activations in scratch files under " + scratch + ", attention "
                        + exactAttention(tokens).id());
                long start = System.nanoTime();
                ExactRunner.Encoded e = runner.encode(r);
                summary("encode", r.width(), r.height(), start, e.result());
                return e.moments();
            }
        }
        if (tile % f != 0) {
            throw new VaeException("--tile " + tile + " is not a multiple of the model's " + f + "x scale");
        }
        TiledEncoder encoder = new TiledEncoder(vae, new TiledDecoder.Options(tile / f, -1, memory));
        TilePlan plan;
        try (ImageStripReader r = ImageStripReader.open(image, range)) {
            if ((long) r.width() * r.height() > maxPixels) {
                throw new VaeException(image + ": image has " + (long) r.width() * r.height()
                        + " pixels, over the limit of " + maxPixels + " (raise it with --max-pixels)");
            }
            plan = encoder.plan(r.height(), r.width());
        }
        Log.info("tiled encode (fast): " + plan);
        Progress progress = Progress.toStderr("encode", plan.size(), (long) plan.imageWidth() * plan.imageHeight(),
                quiet);
        Tensor latent = attention().where(() -> encoder.encode(image, range, plan, progress));
        progress.finish();
        return new Moments(latent, null);
    }

    static ImageStripWriter open(Path out, String ext, int width, int height, int bitDepth) {
        return ext.equals("png") ? StreamingPngWriter.open(out, width, height, bitDepth)
                : StreamingTiffWriter.open(out, width, height, bitDepth);
    }

    /** An untiled image [1, 3, H, W] written as a 16-bit PNG or a TIFF. */
    static List<Path> writeWhole(Path out, String ext, int bitDepth, Tensor image, PixelRange range) {
        if (image.dim(0) != 1) {
            throw new VaeException("16-bit PNG and TIFF outputs take one image; this decode gave " + image.dim(0));
        }
        ImageStripWriter w = open(out, ext, image.dim(3), image.dim(2), bitDepth);
        try {
            w.writeRows(image, range);
            w.close();
        } catch (RuntimeException e) {
            w.abort();
            throw e;
        }
        return List.of(out);
    }
}
