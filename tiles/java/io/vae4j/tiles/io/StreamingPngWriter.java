package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.util.IoErrors;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes an RGB PNG (8 or 16 bits per sample, non-interlaced) strip by strip: each row is filtered and fed to one
 * {@link Deflater} whose output is cut into IDAT chunks as it comes, so memory is a few rows and a chunk buffer,
 * whatever the height. The file is written to a temporary file and renamed over the target on a successful
 * {@link #close()} after exactly {@link #height()} rows (see {@link ImageStripWriter}).
 *
 * <p>8-bit samples are {@link PixelRange#encode} exactly, so a PNG written here has the same pixels as one written
 * by {@code Images.writePng} from the same tensor; 16-bit samples are {@code rint(clamp(unit) * 65535)} in float32.
 */
public final class StreamingPngWriter implements ImageStripWriter {

    /** The PNG row filter applied to every row. */
    public enum Filter {
        NONE(0), SUB(1), UP(2), AVERAGE(3), PAETH(4),
        /** Per row, whichever of the five gives the smallest sum of absolute (signed) bytes, as libpng does. */
        ADAPTIVE(-1);

        final int type;

        Filter(int type) {
            this.type = type;
        }
    }

    /**
     * Default deflate level. Measured on an 8192x8192 8-bit textured image (1/f noise with edges and fine grain,
     * which Pillow stores at 45% of raw), CPU time of the writer on one core of this project's machine, JDK 25's
     * zlib, Z_FILTERED:
     * <pre>
     *   level 1, UP        68 MB/s   52.2% of raw      level 4, ADAPTIVE  16 MB/s   42.6%
     *   level 1, PAETH     57 MB/s   52.6%             level 5, ADAPTIVE  10 MB/s   42.8%
     *   level 1, ADAPTIVE  44 MB/s   50.0%             level 6, ADAPTIVE   4 MB/s   43.1%
     *   level 3, ADAPTIVE  20 MB/s   48.2%             level 9, ADAPTIVE   4 MB/s   43.1%
     * </pre>
     * Level 4 is zlib's first "lazy" level, with short hash chains: on such content it is as small as 6 and 9 and
     * four times faster than 6 (the libpng and Pillow default; Pillow runs at about the same speed). On a smooth
     * gradient every setting is fast (80-300 MB/s) and under 1.5% of raw. Either way the write is a small
     * fraction of the decode that produces the rows (decoding 8192x8192 takes on the order of an hour on CPU).
     */
    public static final int DEFAULT_LEVEL = 4;

    /** Default filter: per-row adaptive, never larger than any single filter at the levels measured. */
    public static final Filter DEFAULT_FILTER = Filter.ADAPTIVE;

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    /** Payload bytes per IDAT chunk. */
    private static final int CHUNK = 1 << 18;

    /** The file or stream written, for messages. */
    private final String target;
    private final int width;
    private final int height;
    private final int bitDepth;
    private final Filter filter;
    private final int bpp;
    private final int rowBytes;
    private final Quantize quantize;
    private final ByteSink file;
    private final Deflater deflater;
    private final CRC32 crc = new CRC32();

    private byte[] prev;
    private byte[] cur;
    /** Filtered rows, one per filter type; [0] is unused (None filters into cur itself). */
    private final byte[][] filtered = new byte[5][];
    /** Chunk being filled: 4 length bytes, 4 type bytes, up to CHUNK payload, room for the CRC. */
    private final byte[] chunk = new byte[8 + CHUNK + 4];
    private int chunkFill;
    private int rows;
    private boolean finished;

    private StreamingPngWriter(String target, int width, int height, int bitDepth, int level, Filter filter,
                               ByteSink file) {
        this.target = target;
        this.width = width;
        this.height = height;
        this.bitDepth = bitDepth;
        this.filter = filter;
        this.bpp = 3 * bitDepth / 8;
        this.rowBytes = Math.multiplyExact(width, bpp);
        this.quantize = new Quantize(width);
        this.file = file;
        this.deflater = new Deflater(level);
        // zlib's Z_FILTERED suits filtered image rows (libpng's default for them); for unfiltered rows it does not.
        deflater.setStrategy(filter == Filter.NONE ? Deflater.DEFAULT_STRATEGY : Deflater.FILTERED);
        this.prev = new byte[rowBytes + 1];
        this.cur = new byte[rowBytes + 1];
        for (int t = 1; t < 5; t++) {
            if (filter == Filter.ADAPTIVE || filter.type == t) {
                filtered[t] = new byte[rowBytes + 1];
                filtered[t][0] = (byte) t;
            }
        }
    }

    /** Opens a writer with the default level and filter. */
    public static StreamingPngWriter open(Path target, int width, int height, int bitDepth) {
        return open(target, width, height, bitDepth, DEFAULT_LEVEL, DEFAULT_FILTER);
    }

    /**
     * Opens a writer.
     *
     * @param bitDepth 8 or 16 bits per sample
     * @param level    deflate level 0 (stored) to 9 (smallest)
     */
    public static StreamingPngWriter open(Path target, int width, int height, int bitDepth, int level,
                                          Filter filter) {
        Objects.requireNonNull(target, "target");
        check(target.toString(), width, height, bitDepth, level, filter);
        return open(target.toString(), PendingFile.create(target), width, height, bitDepth, level, filter);
    }

    /**
     * Opens a writer onto a stream the caller owns (an HTTP response, say): {@link #close()} flushes it after the
     * last chunk, {@link #abort()} leaves it for the caller to end.
     *
     * @param name what the stream is, for messages
     */
    public static StreamingPngWriter open(OutputStream out, String name, int width, int height, int bitDepth,
                                          int level, Filter filter) {
        Objects.requireNonNull(out, "out");
        check(name, width, height, bitDepth, level, filter);
        return open(name, ByteSink.of(out), width, height, bitDepth, level, filter);
    }

    private static void check(String target, int width, int height, int bitDepth, int level, Filter filter) {
        Objects.requireNonNull(filter, "filter");
        if (width <= 0 || height <= 0) {
            throw new VaeException("cannot write " + target + ": the image is empty (" + width + "x" + height + ")");
        }
        if (bitDepth != 8 && bitDepth != 16) {
            throw new IllegalArgumentException("PNG bit depth must be 8 or 16, got " + bitDepth);
        }
        if (level < 0 || level > 9) {
            throw new IllegalArgumentException("deflate level must be 0 to 9, got " + level);
        }
        if ((long) width * 3 * (bitDepth / 8) + 1 > Integer.MAX_VALUE - 8) {
            throw new VaeException("cannot write " + target + ": a row of " + width + " pixels is too wide for PNG");
        }
    }

    private static StreamingPngWriter open(String target, ByteSink file, int width, int height, int bitDepth,
                                           int level, Filter filter) {
        StreamingPngWriter w = null;
        try {
            w = new StreamingPngWriter(target, width, height, bitDepth, level, filter, file);
            w.writeHeader();
            return w;
        } catch (IOException | RuntimeException e) {
            if (w != null) {
                w.deflater.end();
            }
            file.discard();
            throw e instanceof VaeException v ? v
                    : new VaeException("cannot write " + target + ": " + IoErrors.reason(e), e);
        }
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public int rowsWritten() {
        return rows;
    }

    public int bitDepth() {
        return bitDepth;
    }

    @Override
    public long writeRows(Tensor strip, PixelRange range) {
        Objects.requireNonNull(strip, "strip");
        Objects.requireNonNull(range, "range");
        checkOpen();
        try {
            int n = Quantize.checkStrip(target, strip, width);
            if ((long) rows + n > height) {
                throw new VaeException("cannot write " + target + ": " + ((long) rows + n) + " rows given for an image "
                        + height + " rows high");
            }
            long nans = 0;
            for (int y = 0; y < n; y++) {
                nans += bitDepth == 8
                        ? quantize.row8(strip, n, y, range, cur, 1)
                        : quantize.row16(strip, n, y, range, cur, 1, true);
                byte[] row = filterRow();
                deflater.setInput(row, 0, rowBytes + 1);
                while (!deflater.needsInput()) {
                    drain();
                }
                byte[] t = prev;
                prev = cur;
                cur = t;
                rows++;
            }
            return nans;
        } catch (IOException | RuntimeException e) {
            abort();
            throw e instanceof VaeException v ? v : failure(e);
        } catch (Error e) {
            abort();
            throw e;
        }
    }

    @Override
    public void close() {
        if (finished) {
            return;
        }
        try {
            if (rows != height) {
                throw new VaeException("cannot write " + target + ": only " + rows + " of " + height
                        + " rows were written");
            }
            deflater.finish();
            while (!deflater.finished()) {
                drain();
            }
            flushChunk();
            writeChunk("IEND", new byte[0]);
            finished = true;
            deflater.end();
            file.commit();
        } catch (IOException | RuntimeException e) {
            abort();
            throw e instanceof VaeException v ? v : failure(e);
        } catch (Error e) {
            abort();
            throw e;
        }
    }

    @Override
    public void abort() {
        if (!finished) {
            finished = true;
            deflater.end();
        }
        file.discard();
    }

    private VaeException failure(Throwable e) {
        return new VaeException("cannot write " + target + ": " + IoErrors.reason(e), e);
    }

    private void checkOpen() {
        if (finished) {
            throw new IllegalStateException("PNG writer for " + target + " is already closed");
        }
    }

    private void writeHeader() throws IOException {
        file.write(ByteBuffer.wrap(SIGNATURE));
        ByteBuffer ihdr = ByteBuffer.allocate(13);
        ihdr.putInt(width).putInt(height).put((byte) bitDepth).put((byte) 2) // colour type 2: RGB
                .put((byte) 0).put((byte) 0).put((byte) 0); // deflate, adaptive filtering, no interlace
        writeChunk("IHDR", ihdr.array());
        chunkFill = 0;
    }

    private void writeChunk(String type, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(12 + data.length);
        b.putInt(data.length).put(type.getBytes(StandardCharsets.US_ASCII)).put(data);
        crc.reset();
        crc.update(b.array(), 4, 4 + data.length);
        b.putInt((int) crc.getValue()).flip();
        file.write(b);
    }

    /** Runs the deflater once into the chunk buffer, writing the chunk out when it is full. */
    private void drain() throws IOException {
        chunkFill += deflater.deflate(chunk, 8 + chunkFill, CHUNK - chunkFill, Deflater.NO_FLUSH);
        if (chunkFill == CHUNK) {
            flushChunk();
        }
    }

    private void flushChunk() throws IOException {
        if (chunkFill == 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(chunk, 0, 8 + chunkFill + 4);
        b.putInt(0, chunkFill).put(4, (byte) 'I').put(5, (byte) 'D').put(6, (byte) 'A').put(7, (byte) 'T');
        crc.reset();
        crc.update(chunk, 4, 4 + chunkFill);
        b.putInt(8 + chunkFill, (int) crc.getValue());
        file.write(b);
        chunkFill = 0;
    }

    /** Filters the raw row in {@code cur[1..]} against {@code prev}; returns the buffer holding the filtered row. */
    private byte[] filterRow() {
        return switch (filter) {
            case NONE -> {
                cur[0] = 0;
                yield cur;
            }
            case ADAPTIVE -> {
                byte[] best = cur;
                cur[0] = 0;
                long bestSum = absSum(cur);
                for (int t = 1; t < 5; t++) {
                    applyFilter(t, filtered[t]);
                    long s = absSum(filtered[t]);
                    if (s < bestSum) {
                        bestSum = s;
                        best = filtered[t];
                    }
                }
                yield best;
            }
            default -> {
                applyFilter(filter.type, filtered[filter.type]);
                yield filtered[filter.type];
            }
        };
    }

    private long absSum(byte[] row) {
        long s = 0;
        for (int i = 1; i <= rowBytes; i++) {
            s += Math.abs((int) row[i]);
        }
        return s;
    }

    /** Filter {@code type} of the raw row {@code cur} (previous raw row {@code prev}) into {@code out[1..]}. */
    private void applyFilter(int type, byte[] out) {
        byte[] x = cur;
        byte[] p = prev;
        int n = rowBytes + 1;
        switch (type) {
            case 1 -> {
                System.arraycopy(x, 1, out, 1, Math.min(bpp, rowBytes));
                for (int i = 1 + bpp; i < n; i++) {
                    out[i] = (byte) (x[i] - x[i - bpp]);
                }
            }
            case 2 -> {
                for (int i = 1; i < n; i++) {
                    out[i] = (byte) (x[i] - p[i]);
                }
            }
            case 3 -> {
                for (int i = 1; i < n; i++) {
                    int a = i > bpp ? x[i - bpp] & 0xff : 0;
                    out[i] = (byte) (x[i] - ((a + (p[i] & 0xff)) >>> 1));
                }
            }
            case 4 -> {
                for (int i = 1; i <= Math.min(bpp, rowBytes); i++) {
                    out[i] = (byte) (x[i] - p[i]); // a = c = 0: Paeth predicts b
                }
                for (int i = 1 + bpp; i < n; i++) {
                    out[i] = (byte) (x[i] - paethBranchless(x[i - bpp] & 0xff, p[i] & 0xff, p[i - bpp] & 0xff));
                }
            }
            default -> throw new IllegalArgumentException("filter type " + type);
        }
    }

    /**
     * {@link #paeth} without data-dependent branches, which on photographic rows are mispredicted about half the
     * time: the comparisons become sign masks.
     */
    static int paethBranchless(int a, int b, int c) {
        int pa = Math.abs(b - c);
        int pb = Math.abs(a - c);
        int pc = Math.abs(a + b - 2 * c);
        int cNotB = (pc - pb) >> 31;                 // -1 when pc < pb: c beats b
        int bOrC = (b & ~cNotB) | (c & cNotB);
        int minBc = (pb & ~cNotB) | (pc & cNotB);
        int notA = (minBc - pa) >> 31;               // -1 when pa > min(pb, pc)
        return (a & ~notA) | (bOrC & notA);
    }

    /** The Paeth predictor of the PNG specification (section 9.4). */
    static int paeth(int a, int b, int c) {
        int pa = Math.abs(b - c);
        int pb = Math.abs(a - c);
        int pc = Math.abs(a + b - 2 * c);
        if (pa <= pb && pa <= pc) {
            return a;
        }
        return pb <= pc ? b : c;
    }
}
