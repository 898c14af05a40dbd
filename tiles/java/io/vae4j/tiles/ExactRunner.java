package io.vae4j.tiles;

import io.vae4j.VaeException;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.AttentionMode;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.ImageStripReader;
import io.vae4j.tiles.io.ImageStripWriter;
import io.vae4j.util.IoErrors;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * "exact" mode: the model runs layer by layer over the whole image, exactly as an untiled run does (same kernels,
 * so the same bits), with every large activation in a {@link ScratchSpace} instead of RAM. Every GroupNorm sees
 * the statistics of the whole image because it sees the whole image. The input is read and the output written in
 * strips, and the disk space the run needs is checked before it starts.
 */
public final class ExactRunner {
    /** Rows per strip written out or read in. */
    private static final int STRIP_ROWS = 64;

    /** Free bytes of the file system holding a directory; a seam for tests. */
    public interface FreeSpace {
        long usableBytes(Path dir) throws IOException;

        FreeSpace FILE_STORE = dir -> Files.getFileStore(dir).getUsableSpace();
    }

    /**
     * @param threshold     tensors from this many bytes up go to scratch
     * @param residentSlack see {@link ScratchSpace}; 0 never releases pages
     */
    public record Options(Path scratchDir, AttentionMode attention, long threshold, long residentSlack,
                          FreeSpace freeSpace) {
        public static Options of(Path scratchDir, AttentionMode attention, long residentSlack) {
            return new Options(scratchDir, attention, ScratchSpace.DEFAULT_THRESHOLD, residentSlack,
                    FreeSpace.FILE_STORE);
        }
    }

    /** What a run used: scratch bytes at the peak against the estimate checked up front, and NaN outputs. */
    public record Result(long scratchPeak, long scratchEstimate, long nonFinite) {
    }

    public record Encoded(Moments moments, Result result) implements AutoCloseable {
        @Override
        public void close() {
            moments.close();
        }
    }

    private final Vae vae;
    private final Options options;

    public ExactRunner(Vae vae, Options options) {
        this.vae = vae;
        this.options = options;
    }

    /** The scratch bytes decoding to an image of this size needs, refused up front when the directory lacks them. */
    public long checkDecodeSpace(int height, int width) {
        return checkSpace(vae.decodePeakBytes(height, width), "decode", height, width);
    }

    public long checkEncodeSpace(int height, int width) {
        return checkSpace(vae.encodePeakBytes(height, width), "encode", height, width);
    }

    private long checkSpace(long needed, String what, int height, int width) {
        Path dir = options.scratchDir();
        long free;
        try {
            free = options.freeSpace().usableBytes(dir);
        } catch (IOException e) {
            throw new VaeException("--scratch " + dir + ": cannot tell its free space: " + IoErrors.reason(e), e);
        }
        if (needed > free) {
            throw new VaeException("--scratch " + dir + ": an exact " + what + " of " + width + "x" + height
                    + " needs about " + gib(needed) + " of scratch space, but only " + gib(free) + " is free there;"
                    + " point --scratch at a larger disk, or use --tiling fast");
        }
        return needed;
    }

    /**
     * Decodes raw latent z [1, C, h, w] whole and streams the image into {@code writer}, which is closed (the file
     * published) on success and aborted on any failure.
     */
    public Result decode(Tensor z, ImageStripWriter writer, PixelRange range) {
        try {
            int f = vae.downscale();
            long estimate = checkDecodeSpace(z.dim(2) * f, z.dim(3) * f);
            long nonFinite;
            long peak;
            try (ScratchSpace scratch = open()) {
                try (Tensor image = inScratch(scratch, () -> vae.decode(z))) {
                    nonFinite = write(image, writer, range);
                }
                peak = scratch.peakBytes();
            }
            writer.close();
            return new Result(peak, estimate, nonFinite);
        } catch (RuntimeException | Error e) {
            writer.abort();
            throw e;
        }
    }

    /** Encodes the image {@code reader} streams, whole; the reader is left open for the caller to close. */
    public Encoded encode(ImageStripReader reader) {
        int h = reader.height(), w = reader.width(), f = vae.downscale();
        if (h < f || w < f) {
            throw new VaeException(reader.file() + ": image " + w + "x" + h + " is too small; each side needs at least "
                    + f + " pixels");
        }
        long estimate = checkEncodeSpace(h, w);
        try (ScratchSpace scratch = open()) {
            Moments m = inScratch(scratch, () -> {
                try (Tensor image = read(reader)) {
                    return vae.encode(image);
                }
            });
            return new Encoded(m, new Result(scratch.peakBytes(), estimate, 0));
        }
    }

    private ScratchSpace open() {
        return new ScratchSpace(options.scratchDir(), options.threshold(), options.residentSlack());
    }

    private <T> T inScratch(ScratchSpace scratch, Supplier<T> work) {
        return options.attention().where(() -> scratch.run(work));
    }

    /** The whole image [1, 3, H, W] (in scratch when large), filled strip by strip. */
    private static Tensor read(ImageStripReader reader) {
        int h = reader.height(), w = reader.width();
        Tensor image = Tensor.uninitialized(1, 3, h, w);
        try {
            while (reader.rowsLeft() > 0) {
                int y0 = reader.rowsRead(), rows = Math.min(STRIP_ROWS, reader.rowsLeft());
                try (Tensor strip = Tensor.workspace(1, 3, rows, w)) {
                    reader.readRows(strip);
                    copyRows(strip, 0, image, y0, rows);
                }
            }
            return image;
        } catch (RuntimeException | Error e) {
            image.close();
            throw e;
        }
    }

    private static long write(Tensor image, ImageStripWriter writer, PixelRange range) {
        int h = image.dim(2), w = image.dim(3);
        long nonFinite = 0;
        for (int y0 = 0; y0 < h; y0 += STRIP_ROWS) {
            int rows = Math.min(STRIP_ROWS, h - y0);
            try (Tensor strip = Tensor.workspace(1, 3, rows, w)) {
                copyRows(image, y0, strip, 0, rows);
                nonFinite += writer.writeRows(strip, range);
            }
        }
        return nonFinite;
    }

    /** Rows [fromY, fromY+rows) of every channel of one [1, 3, *, W] tensor into rows from toY of another. */
    private static void copyRows(Tensor from, int fromY, Tensor to, int toY, int rows) {
        int w = from.dim(3);
        long fromPlane = (long) from.dim(2) * w, toPlane = (long) to.dim(2) * w;
        for (int c = 0; c < 3; c++) {
            MemorySegment.copy(from.data(), (c * fromPlane + (long) fromY * w) * 4, to.data(),
                    (c * toPlane + (long) toY * w) * 4, (long) rows * w * 4);
        }
    }

    public static String gib(long bytes) {
        return bytes >= 1L << 30 ? String.format("%.1f GiB", bytes / (double) (1L << 30))
                : String.format("%.0f MiB", bytes / (double) (1L << 20));
    }
}
