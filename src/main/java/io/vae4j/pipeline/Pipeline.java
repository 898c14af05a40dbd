package io.vae4j.pipeline;

import io.vae4j.VaeException;
import io.vae4j.backend.OnePass;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.AttentionMode;
import io.vae4j.model.ImageRange;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.model.taesd.Taesd;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.ExactRunner;
import io.vae4j.tiles.Progress;
import io.vae4j.tiles.TiledDecoder;
import io.vae4j.tiles.TiledEncoder;
import io.vae4j.tiles.io.ImageStripReader;
import io.vae4j.tiles.io.ImageStripWriter;
import io.vae4j.tiles.io.TensorStripWriter;
import io.vae4j.tiles.plan.TilePlan;
import io.vae4j.util.ResidentMemory;
import io.vae4j.util.Work;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The one decode/encode pipeline every front end (CLI, server, library) runs: given a memory budget it decides
 * whether a run is untiled, exact (whole image, large activations in scratch files) or fast (tiles with frozen
 * GroupNorm statistics), and runs it. Without {@link TilingMode#FAST}, {@link TilingMode#EXACT} or a tile edge,
 * the untiled run goes ahead whenever its estimated memory fits the budget; otherwise exact runs when the scratch
 * directory has the space and the attention stays under its global limit, and fast when not. Every decision is
 * reported to {@link Options#log}. Thread-safe: it holds only its options.
 */
public final class Pipeline {
    /**
     * The largest latent (in pixels, i.e. attention tokens) whose mid-block attention exact mode runs globally
     * without being told to: 256x256, a 2048x2048 image. Attention costs grow with its square.
     */
    public static final long GLOBAL_ATTENTION_TOKENS = 256L * 256;

    /**
     * @param mode          how to split the run
     * @param tile          tile edge in image pixels, 0 for auto (the largest that fits the budget)
     * @param memory        the memory budget of one run, bytes
     * @param scratch       where exact runs keep their large activations
     * @param attention     the attention asked for, null for auto (global where it is affordable)
     * @param residentSlack how far exact runs let the resident set grow before releasing scratch pages
     * @param freeSpace     how exact runs learn the scratch directory's free space
     * @param log           where decisions and summaries go (one line each)
     * @param progress      whether tiled runs report progress on stderr
     */
    public record Options(TilingMode mode, int tile, long memory, Path scratch, AttentionMode attention,
                          long residentSlack, ExactRunner.FreeSpace freeSpace, Consumer<String> log,
                          boolean progress) {
        public Options {
            if (memory <= 0) {
                throw new IllegalArgumentException("memory budget must be positive, got " + memory);
            }
            if (tile < 0 || tile % 8 != 0) {
                throw new VaeException("tile must be 0 (auto) or a positive multiple of 8 image pixels, got " + tile);
            }
        }

        /** Auto tiling under this budget, scratch in {@code java.io.tmpdir}, decisions sent to {@code log}. */
        public static Options auto(long memory, Consumer<String> log) {
            return new Options(TilingMode.AUTO, 0, memory, Path.of(System.getProperty("java.io.tmpdir")), null,
                    defaultResidentSlack(), ExactRunner.FreeSpace.FILE_STORE, log, false);
        }

        public Options withFreeSpace(ExactRunner.FreeSpace f) {
            return new Options(mode, tile, memory, scratch, attention, residentSlack, f, log, progress);
        }

        public Options withScratch(Path dir) {
            return new Options(mode, tile, memory, dir, attention, residentSlack, freeSpace, log, progress);
        }

        public Options withMemory(long bytes) {
            return new Options(mode, tile, bytes, scratch, attention, residentSlack, freeSpace, log, progress);
        }
    }

    /** What a tiled or exact decode reports: NaN values written as 0. */
    public record TiledResult(long nonFinite) {
    }

    private final Options options;
    /** Whether untiled runs are the process's only run of the model ({@link #onePass()}). */
    private final boolean onePass;

    public Pipeline(Options options) {
        this(options, false);
    }

    private Pipeline(Options options, boolean onePass) {
        this.options = options;
        this.onePass = onePass;
    }

    /**
     * This pipeline for a caller that runs the model once (the CLI's decode and encode): its untiled runs free each
     * layer's prepared weights once past it ({@link OnePass}), which lowers their peak memory; a server or a
     * library model, which runs again, keeps them.
     */
    public Pipeline onePass() {
        return new Pipeline(options, true);
    }

    private <T> T pass(Supplier<T> work) {
        return onePass ? OnePass.run(work) : work.get();
    }

    public Options options() {
        return options;
    }

    /**
     * How far exact runs let the resident set grow before scratch pages are released: enough for the working set
     * of one convolution band and of attention's keys and values. -Dvae4j.scratch.slack overrides (a size).
     */
    public static long defaultResidentSlack() {
        String v = System.getProperty("vae4j.scratch.slack");
        return v == null ? 128L << 20 : parseSize(v);
    }

    /** "512m", "2g", "1.5g", "800k" or a plain byte count. */
    public static long parseSize(String s) {
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
            throw new VaeException("expected a size such as 512m or 2g, got '" + s + "'");
        }
    }

    public static PixelRange pixelRange(Vae vae) {
        return vae.imageRange() == ImageRange.ZERO_ONE ? PixelRange.ZERO_ONE : PixelRange.MINUS_ONE_ONE;
    }

    /**
     * Whether this raw latent is decoded tiled: asked for, or (auto) its untiled decode would not fit the budget.
     * Only single latents whose output can take strips ({@code stripOutput}) tile.
     */
    public boolean tiledDecode(Vae vae, Tensor z, boolean stripOutput) {
        return switch (options.mode) {
            case OFF -> false;
            case FAST, EXACT -> true;
            case AUTO -> options.tile == 0 ? stripOutput && z.rank() == 4 && z.dim(0) == 1
                    && vae.decodeActivationBytes(z.dim(2) * vae.downscale(), z.dim(3) * vae.downscale())
                    > options.memory : true;
        };
    }

    /** The attention mode of untiled and fast runs: as asked, else global (their latents are small). */
    public AttentionMode attention() {
        return options.attention == null ? AttentionMode.GLOBAL : options.attention;
    }

    /** The untiled decode of raw latent z: the whole image, or a TAESD decoder's preview at 1/previewScale. */
    public Tensor decodeUntiled(Vae vae, Tensor z, int previewScale) {
        return attention().where(() -> {
            if (previewScale == 1) {
                return withProgress("decode", vae.decodeMacs(z.shape()), () -> pass(() -> vae.decode(z)));
            }
            if (!(vae instanceof Taesd taesd)) {
                throw new VaeException("--preview-scale needs a TAESD decoder (taesd, taesdxl, taesd3, taef1, taef2,"
                        + " taesana); " + vae.info().source() + " is " + vae.info().architecture().split(" ")[0]);
            }
            return taesd.decodePreview(z, previewScale);
        });
    }

    /**
     * One raw latent [1, C, h, w] decoded to a float image [1, 3, H, W] in memory: untiled when it fits the
     * budget, else exact or fast with the strips collected (the image itself must fit in memory).
     */
    public Tensor decodeWhole(Vae vae, Tensor z1) {
        if (tiledDecode(vae, z1, true)) {
            TensorStripWriter writer = new TensorStripWriter(z1.dim(3) * vae.downscale(), z1.dim(2) * vae.downscale());
            decodeTiled(vae, z1, writer);
            return writer.image();
        }
        return decodeUntiled(vae, z1, 1);
    }

    /** The untiled encode of image [N, 3, H, W]. */
    public Moments encodeUntiled(Vae vae, Tensor image) {
        return attention().where(() -> withProgress("encode", vae.encodeMacs(image.shape()), () -> pass(() -> vae.encode(image))));
    }

    /** Runs work with a progress bar or lines on stderr when the options ask for progress and the total is known. */
    private <T> T withProgress(String label, long total, java.util.function.Supplier<T> work) {
        if (!options.progress || total <= 0) {
            return work.get();
        }
        WorkProgress progress = WorkProgress.toStderr(label, false);
        try {
            return new Work(total, progress).run(work);
        } finally {
            progress.finish();
        }
    }

    /**
     * The attention of an exact run over a latent of this many pixels, or null where auto cannot choose one:
     * past {@link #GLOBAL_ATTENTION_TOKENS}, the user has to.
     */
    private AttentionMode exactAttention(long tokens) {
        return options.attention != null ? options.attention
                : tokens <= GLOBAL_ATTENTION_TOKENS ? AttentionMode.GLOBAL : null;
    }

    /** Whether a tiled run of this size is exact: asked for, or (auto) when it can run; the reason is logged. */
    private boolean exact(ExactRunner runner, boolean decode, int height, int width, long tokens) {
        if (options.mode == TilingMode.EXACT) {
            if (exactAttention(tokens) == null) {
                throw new VaeException("the latent has " + tokens + " pixels, past the " + GLOBAL_ATTENTION_TOKENS
                        + " up to which exact mode runs the mid-block attention over the whole image (its cost"
                        + " grows with the square); choose --attention tiled (windows of " + AttentionMode.WINDOW
                        + "x" + AttentionMode.WINDOW + " latent pixels), --attention off (skip it), or --attention"
                        + " global (slow)");
            }
            return true;
        }
        if (options.mode != TilingMode.AUTO || options.tile > 0) {
            return false;
        }
        if (exactAttention(tokens) == null) {
            options.log.accept("tiling auto: fast, as the latent is past the size up to which exact mode attends"
                    + " globally (--attention tiled|off with --tiling exact runs it exactly otherwise)");
            return false;
        }
        try {
            if (decode) {
                runner.checkDecodeSpace(height, width);
            } else {
                runner.checkEncodeSpace(height, width);
            }
        } catch (VaeException e) {
            options.log.accept("tiling auto: fast, as exact cannot run: " + e.getMessage());
            return false;
        }
        return true;
    }

    private ExactRunner exactRunner(Vae vae, long tokens) {
        AttentionMode a = exactAttention(tokens);
        return new ExactRunner(vae, new ExactRunner.Options(options.scratch, a == null ? AttentionMode.GLOBAL : a,
                ScratchSpace.DEFAULT_THRESHOLD, options.residentSlack, options.freeSpace));
    }

    private Progress progress(String label, int tiles, long pixels) {
        return Progress.toStderr(label, tiles, pixels, !options.progress);
    }

    /** The tiled (fast or exact) decode of raw latent z [1, C, h, w], streamed into {@code writer}. */
    public TiledResult decodeTiled(Vae vae, Tensor z, ImageStripWriter writer) {
        if (z.dim(0) != 1) {
            throw new VaeException("tiled decoding takes a single latent; this one holds " + z.dim(0));
        }
        int f = vae.downscale();
        if (!vae.decodeTiles()) {
            throw new VaeException(vae.info().architecture().split(":")[0] + " decodes the whole image at once and"
                    + " does not tile; a " + z.dim(3) * f + "x" + z.dim(2) * f + " decode needs about "
                    + ExactRunner.gib(vae.decodeActivationBytes(z.dim(2) * f, z.dim(3) * f))
                    + (options.mode == TilingMode.AUTO && options.tile == 0 ? ", over the --memory budget of "
                    + ExactRunner.gib(options.memory) + " (raise --memory or use --tiling off)"
                    : " (use --tiling off)"));
        }
        long tokens = (long) z.dim(2) * z.dim(3);
        ExactRunner runner = exactRunner(vae, tokens);
        if (exact(runner, true, z.dim(2) * f, z.dim(3) * f, tokens)) {
            int h = z.dim(2) * f, w = z.dim(3) * f;
            options.log.accept("exact decode " + w + "x" + h + ": whole image, layer by layer, large activations in"
                    + " scratch files under " + options.scratch + " (about "
                    + ExactRunner.gib(vae.decodePeakBytes(h, w)) + " at the peak), attention "
                    + exactAttention(tokens).id());
            long start = System.nanoTime();
            ExactRunner.Result r = runner.decode(z, writer, pixelRange(vae));
            summary("decode", w, h, start, r);
            return new TiledResult(r.nonFinite());
        }
        checkTile(f);
        TiledDecoder decoder = new TiledDecoder(vae, new TiledDecoder.Options(options.tile / f, -1, options.memory));
        TilePlan plan = decoder.plan(z.dim(2), z.dim(3));
        options.log.accept("tiled decode (fast): " + plan + (decoder.feathers() ? ", feathered" : ", cropped"));
        Progress progress = progress("decode", plan.size(), (long) plan.imageWidth() * plan.imageHeight());
        TiledDecoder.Result r = attention().where(() -> decoder.decode(z, plan, writer, pixelRange(vae), progress));
        progress.finish();
        logStats(r);
        return new TiledResult(r.nonFinite());
    }

    /**
     * The fast tiled decode of one video's frames z [T, C, h, w] for a temporal decoder, whose tiles hold every
     * frame: frame t into {@code writers.get(t)}. GroupNorm statistics come from one pass over the (area-averaged)
     * video: the temporal layers' are the video's own, the per-frame layers' are pooled over its frames, which
     * differ little within one video. Exact tiling is not possible: every tile would need whole-frame statistics.
     */
    public TiledResult decodeVideoTiled(Vae vae, Tensor z, java.util.List<ImageStripWriter> writers) {
        int f = vae.downscale(), frames = z.dim(0);
        checkTile(f);
        // The model's memory estimates are per frame, and a tile holds every frame.
        TiledDecoder decoder = new TiledDecoder(vae, new TiledDecoder.Options(options.tile / f, -1,
                options.memory / frames));
        TilePlan plan = decoder.plan(z.dim(2), z.dim(3));
        options.log.accept("tiled video decode (fast), " + frames + " frames a tile: " + plan + ", feathered");
        Progress progress = progress("decode", plan.size(), (long) plan.imageWidth() * plan.imageHeight());
        TiledDecoder.Result r = attention().where(() -> decoder.decode(z, plan, writers, pixelRange(vae), progress,
                null, null));
        progress.finish();
        logStats(r);
        return new TiledResult(r.nonFinite());
    }

    private void logStats(TiledDecoder.Result r) {
        if (r.statsFactor() > 0) {
            options.log.accept("GroupNorm statistics of " + r.normLayers() + " layers from a "
                    + (r.statsFactor() == 1 ? "full-size" : "1/" + r.statsFactor() + "-size") + " pass");
        }
    }

    private void checkTile(int f) {
        if (options.tile % f != 0) {
            throw new VaeException("tile " + options.tile + " is not a multiple of the model's " + f + "x scale");
        }
    }

    /** The one-line summary of an exact run: time, the process's peak memory, scratch used. */
    private void summary(String what, int w, int h, long start, ExactRunner.Result r) {
        options.log.accept(String.format("exact %s %dx%d: %.1f s, peak RSS %s, scratch %s at the peak (estimated %s)",
                what, w, h, (System.nanoTime() - start) / 1e9, ExactRunner.gib(Math.max(0, ResidentMemory.peak())),
                ExactRunner.gib(r.scratchPeak()), ExactRunner.gib(r.scratchEstimate())));
    }

    /** Whether an image file (PNG or TIFF) is encoded tiled: asked for, or its untiled run would not fit. */
    public boolean tiledEncode(Vae vae, Path image) {
        if (options.mode == TilingMode.OFF) {
            return false;
        }
        if (options.mode != TilingMode.AUTO || options.tile > 0) {
            return true;
        }
        try (ImageStripReader r = ImageStripReader.open(image, pixelRange(vae))) {
            return !encodeFits(vae, r.height(), r.width());
        }
    }

    /** Whether the untiled encode of one image of this size fits the budget. */
    public boolean encodeFits(Vae vae, int height, int width) {
        return vae.decodeActivationBytes(height, width) <= options.memory;
    }

    /** Writes an image held in memory to a file, for {@link #encodeStaged}. */
    public interface ImageStager {
        void write(Path png) throws IOException;
    }

    /**
     * The tiled encode of an image held in memory (a request body, a BufferedImage): staged as a PNG in the scratch
     * directory, read back in strips as {@link #encodeTiled} reads any file, and deleted. Errors name the image
     * {@code name}, not the scratch file.
     *
     * @return the raw posterior mean [1, C, H/f, W/f], owned by the caller
     * @throws IOException when the scratch directory cannot take the staged image
     */
    public Tensor encodeStaged(Vae vae, String name, ImageStager stage, long maxPixels) throws IOException {
        Path tmp = Files.createTempFile(options.scratch, ".vae4j-encode-", ".png");
        try {
            stage.write(tmp);
            try (Moments moments = encodeTiled(vae, tmp, maxPixels)) {
                return moments.mean().copyF32();
            } catch (VaeException e) {
                throw new VaeException(e.getMessage().replace(tmp.toString(), name), e);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The tiled encode of a PNG or TIFF file: the raw posterior mean [1, C, H/f, W/f], and with exact mode the
     * log-variance too.
     */
    public Moments encodeTiled(Vae vae, Path image, long maxPixels) {
        int f = vae.downscale();
        PixelRange range = pixelRange(vae);
        try (ImageStripReader r = ImageStripReader.open(image, range)) {
            checkPixels(image, r, maxPixels);
            long tokens = (long) (r.height() / f) * (r.width() / f);
            ExactRunner runner = exactRunner(vae, tokens);
            if (exact(runner, false, r.height(), r.width(), tokens)) {
                options.log.accept("exact encode " + r.width() + "x" + r.height() + ": whole image, layer by layer,"
                        + " large activations in scratch files under " + options.scratch + ", attention "
                        + exactAttention(tokens).id());
                long start = System.nanoTime();
                ExactRunner.Encoded e = runner.encode(r);
                summary("encode", r.width(), r.height(), start, e.result());
                return e.moments();
            }
        }
        checkTile(f);
        TiledEncoder encoder = new TiledEncoder(vae, new TiledDecoder.Options(options.tile / f, -1, options.memory));
        TilePlan plan;
        try (ImageStripReader r = ImageStripReader.open(image, range)) {
            checkPixels(image, r, maxPixels);
            plan = encoder.plan(r.height(), r.width());
        }
        options.log.accept("tiled encode (fast): " + plan);
        Progress progress = progress("encode", plan.size(), (long) plan.imageWidth() * plan.imageHeight());
        Tensor latent = attention().where(() -> encoder.encode(image, range, plan, progress));
        progress.finish();
        return new Moments(latent, null);
    }

    private static void checkPixels(Path image, ImageStripReader r, long maxPixels) {
        if ((long) r.width() * r.height() > maxPixels) {
            throw new VaeException(image + ": image has " + (long) r.width() * r.height()
                    + " pixels, over the limit of " + maxPixels + " (raise it with --max-pixels)");
        }
    }
}
