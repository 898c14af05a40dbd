package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.model.AttentionMode;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.pipeline.TilingMode;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.ExactRunner;
import io.vae4j.tiles.io.ImageStripWriter;
import io.vae4j.tiles.io.StreamingPngWriter;
import io.vae4j.tiles.io.StreamingTiffWriter;
import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * decode's and encode's tiling options ({@link TilingOptions}: {@code --tile auto|N}, {@code --tiling
 * fast|exact|off}, {@code --memory SIZE}, {@code --scratch DIR}, {@code --attention auto|global|tiled|off}; and
 * decode's {@code --bit-depth 8|16}), read into a {@link Pipeline}. The policy itself lives in the pipeline, which
 * every front end shares.
 */
final class Tiling {
    /** Exact runs' free-space probe; tests replace it before the first run. */
    ExactRunner.FreeSpace freeSpace = ExactRunner.FreeSpace.FILE_STORE;
    private final Pipeline.Options options;
    private final int bitDepth;
    private final String ext;

    private Tiling(Pipeline.Options options, int bitDepth, String ext) {
        this.options = options;
        this.bitDepth = bitDepth;
        this.ext = ext;
    }

    /** encode's tiling: 8-bit, no preview. */
    static Tiling of(TilingOptions o, String ext) {
        return of(o, 8, ext, 1);
    }

    /** decode's tiling, for an output of extension {@code ext} and a {@code preview}-times smaller image. */
    static Tiling of(TilingOptions o, int bitDepth, String ext, int preview) {
        String t = o.tiling;
        TilingMode mode;
        try {
            mode = TilingMode.parse(t);
        } catch (VaeException e) {
            throw new UsageException("--tiling must be fast, exact or off, got '" + t + "'");
        }
        int tile = 0;
        if (!o.tile.equals("auto")) {
            try {
                tile = Integer.parseInt(o.tile);
            } catch (NumberFormatException e) {
                throw new UsageException("--tile expects an integer, got '" + o.tile + "'");
            }
            if (tile <= 0 || tile % 8 != 0) {
                throw new UsageException("--tile must be auto or a positive multiple of 8 (image pixels), got "
                        + o.tile);
            }
            if (mode == TilingMode.AUTO) {
                mode = TilingMode.FAST;
            }
        }
        if ((mode == TilingMode.OFF || mode == TilingMode.EXACT) && tile > 0) {
            throw new UsageException("--tile " + tile + " with --tiling " + t + " (which runs the whole image)");
        }
        long memory = parseSize(o.memory, "--memory");
        if (bitDepth != 8 && bitDepth != 16) {
            throw new UsageException("--bit-depth must be 8 or 16, got " + bitDepth);
        }
        if (bitDepth == 16 && ext.equals("npy")) {
            throw new UsageException("--bit-depth applies to .png and .tif outputs; .npy is float32");
        }
        if ((mode == TilingMode.FAST || mode == TilingMode.EXACT) && (ext.equals("npy") || preview != 1)) {
            throw new UsageException("tiled decoding writes .png or .tif images, without --preview-scale");
        }
        Path scratch = o.scratch != null ? o.scratch : Path.of(System.getProperty("java.io.tmpdir"));
        AttentionMode attention = o.attention.equalsIgnoreCase("auto") ? null
                : ExactOptions.attentionMode(o.attention);
        return new Tiling(new Pipeline.Options(mode, tile, memory, scratch, attention, ExactOptions.residentSlack(),
                ExactRunner.FreeSpace.FILE_STORE, Log::info, !Log.quiet), bitDepth, ext);
    }

    /** A size option ("512m", "2g"); a bad one is a command-line error naming the option. */
    static long parseSize(String s, String option) {
        try {
            return Pipeline.parseSize(s);
        } catch (VaeException e) {
            throw new UsageException(option + " expects a size such as 512m or 2g, got '" + s + "'");
        }
    }

    static long parseSize(String s) {
        return parseSize(s, "--memory");
    }

    /** The pipeline these options make: one pass, as every command that tiles runs its model once. */
    Pipeline pipeline() {
        return new Pipeline(options.withFreeSpace(freeSpace)).onePass();
    }

    int bitDepth() {
        return bitDepth;
    }

    boolean tiled(Vae vae, Tensor z) {
        return pipeline().tiledDecode(vae, z, !ext.equals("npy"));
    }

    AttentionMode attention() {
        return pipeline().attention();
    }

    /** The tiled (fast or exact) decode of raw latent z [1, C, h, w] streamed into {@code out}. */
    void decode(Vae vae, Tensor z, Path out, String ext, boolean quiet) {
        Pipeline p = pipeline();
        ImageStripWriter writer = open(out, ext, z.dim(3) * vae.downscale(), z.dim(2) * vae.downscale(), bitDepth);
        Pipeline.TiledResult r;
        try {
            r = p.decodeTiled(vae, z, writer);
        } catch (RuntimeException | Error e) {
            writer.abort();
            throw e;
        }
        if (r.nonFinite() > 0) {
            Log.warn(r.nonFinite() + " output values are NaN (written as 0)");
        }
        Log.info("wrote " + out);
    }

    /**
     * Videos of {@code frames} frames, raw latent z [B·T, C, h, w], decoded in tiles (fast), video by video: frame
     * i (of the whole batch) to {@code out}'s i-th numbered file, as an untiled decode numbers them.
     */
    void decodeVideos(Vae vae, Tensor z, int frames, Path out, String ext) {
        Pipeline p = pipeline();
        int n = z.dim(0), f = vae.downscale();
        long nonFinite = 0;
        for (int v = 0; v < n / frames; v++) {
            List<ImageStripWriter> writers = new ArrayList<>();
            try (Tensor video = z.slice0(v * frames, frames)) {
                for (int t = 0; t < frames; t++) {
                    Path file = n == 1 ? out : Images.batchPath(out, v * frames + t);
                    writers.add(open(file, ext, z.dim(3) * f, z.dim(2) * f, bitDepth));
                }
                nonFinite += p.decodeVideoTiled(vae, video, writers).nonFinite();
            } catch (RuntimeException | Error e) {
                writers.forEach(ImageStripWriter::abort);
                throw e;
            }
        }
        if (nonFinite > 0) {
            Log.warn(nonFinite + " output values are NaN (written as 0)");
        }
        Log.info("wrote " + (n == 1 ? out : n + " files: " + Images.batchPath(out, 0) + " ..."));
    }

    boolean tiledEncode(Vae vae, Path image) {
        return pipeline().tiledEncode(vae, image);
    }

    Moments encode(Vae vae, Path image, long maxPixels) {
        return pipeline().encodeTiled(vae, image, maxPixels);
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
