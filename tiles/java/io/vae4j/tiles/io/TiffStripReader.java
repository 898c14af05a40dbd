package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.util.IoErrors;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads the first image of a TIFF or BigTIFF file row by row: RGB (extra samples such as alpha are dropped), 8 or
 * 16 bits per sample, chunky (interleaved) samples, in strips or tiles, uncompressed or deflate (compression 8 or
 * the old 32946), with or without the horizontal-differencing predictor, either byte order.
 *
 * <p>Strips and tiles are both handled as "chunks": a band is one row of chunks across the image. Each chunk of
 * the current band is streamed (through its own small read buffer and, for deflate, its own {@link Inflater}) one
 * chunk row at a time, so memory is a few rows of the image whatever the strip or tile height, and the offset
 * tables are read one band at a time. Anything else (grey, palette, YCbCr, LZW, JPEG, planar samples, floating
 * point) is refused with an error that says what the file holds. The Orientation tag is ignored, as
 * {@code Images.read} ignores EXIF orientation.
 */
public final class TiffStripReader implements ImageStripReader {
    private static final int IMAGE_WIDTH = 256;
    private static final int IMAGE_LENGTH = 257;
    private static final int BITS_PER_SAMPLE = 258;
    private static final int COMPRESSION = 259;
    private static final int PHOTOMETRIC = 262;
    private static final int STRIP_OFFSETS = 273;
    private static final int SAMPLES_PER_PIXEL = 277;
    private static final int ROWS_PER_STRIP = 278;
    private static final int STRIP_BYTE_COUNTS = 279;
    private static final int PLANAR_CONFIGURATION = 284;
    private static final int PREDICTOR = 317;
    private static final int TILE_WIDTH = 322;
    private static final int TILE_LENGTH = 323;
    private static final int TILE_OFFSETS = 324;
    private static final int TILE_BYTE_COUNTS = 325;
    private static final int SAMPLE_FORMAT = 339;

    /** One IFD entry: where its values are in the file. */
    private record Entry(int tag, int type, long count, long at) {
    }

    private final Path file;
    private final FileChannel ch;
    private final long fileSize;
    private final ByteOrder order;
    private final int width;
    private final int height;
    private final int spp;
    private final int bytesPerSample;
    private final boolean deflate;
    private final boolean predictor;
    private final boolean tiled;
    private final int chunkWidth;
    private final int chunkHeight;
    private final int across;
    private final int down;
    private final int chunkRowBytes;
    private final Entry offsets;
    private final Entry byteCounts;
    private final float[] lut;
    private final Chunk[] chunks;
    private final float[] r;
    private final float[] g;
    private final float[] b;

    private int rows;
    private int band = -1;
    private int rowInBand;
    private int bandRows;
    private boolean closed;

    private TiffStripReader(Path file, FileChannel ch, long fileSize, ByteOrder order, Map<Integer, Entry> ifd,
                            PixelRange range) throws IOException {
        this.file = file;
        this.ch = ch;
        this.fileSize = fileSize;
        this.order = order;
        long w = required(ifd, IMAGE_WIDTH, "ImageWidth");
        long h = required(ifd, IMAGE_LENGTH, "ImageLength");
        if (w <= 0 || h <= 0 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw error("bad image size " + w + "x" + h);
        }
        width = (int) w;
        height = (int) h;
        long photometric = required(ifd, PHOTOMETRIC, "PhotometricInterpretation");
        if (photometric != 2) {
            throw error("its colour model is " + photometricName(photometric)
                    + "; streaming reads only RGB TIFF (re-save as RGB)");
        }
        long samples = optional(ifd, SAMPLES_PER_PIXEL, 1);
        if (samples < 3 || samples > 64) {
            throw error("RGB with " + samples + " samples per pixel");
        }
        spp = (int) samples;
        Entry bits = ifd.get(BITS_PER_SAMPLE);
        int depth = bits == null ? 1 : (int) value(bits, 0);
        for (int i = 1; bits != null && i < Math.min(bits.count, spp); i++) {
            if (value(bits, i) != depth) {
                throw error("samples of different bit depths (" + depth + " and " + value(bits, i) + ")");
            }
        }
        if (depth != 8 && depth != 16) {
            throw error(depth + " bits per sample; streaming reads only 8 and 16-bit TIFF");
        }
        bytesPerSample = depth / 8;
        Entry format = ifd.get(SAMPLE_FORMAT);
        if (format != null && value(format, 0) != 1) {
            long f = value(format, 0);
            throw error("sample format " + f + " (" + (f == 2 ? "signed integer" : f == 3 ? "floating point" : "other")
                    + "); streaming reads only unsigned integer samples");
        }
        long planar = optional(ifd, PLANAR_CONFIGURATION, 1);
        if (planar != 1) {
            throw error("separate colour planes (PlanarConfiguration " + planar
                    + "); streaming reads only interleaved samples");
        }
        long compression = optional(ifd, COMPRESSION, 1);
        if (compression != 1 && compression != 8 && compression != 32946) {
            throw error("compression " + compressionName(compression)
                    + "; streaming reads only uncompressed and deflate TIFF");
        }
        deflate = compression != 1;
        long pred = optional(ifd, PREDICTOR, 1);
        if (pred != 1 && pred != 2) {
            throw error("predictor " + pred + (pred == 3 ? " (floating point)" : "") + " is not supported");
        }
        predictor = pred == 2;
        tiled = ifd.containsKey(TILE_WIDTH) || ifd.containsKey(TILE_OFFSETS);
        String kind = tiled ? "tile" : "strip";
        if (tiled) {
            long tw = required(ifd, TILE_WIDTH, "TileWidth");
            long th = required(ifd, TILE_LENGTH, "TileLength");
            if (tw <= 0 || th <= 0 || tw > 1 << 20 || th > 1 << 20) {
                throw error("bad tile size " + tw + "x" + th);
            }
            chunkWidth = (int) tw;
            chunkHeight = (int) th;
            offsets = entry(ifd, TILE_OFFSETS, "TileOffsets");
            byteCounts = entry(ifd, TILE_BYTE_COUNTS, "TileByteCounts");
        } else {
            long rps = optional(ifd, ROWS_PER_STRIP, height);
            if (rps <= 0) {
                throw error("bad RowsPerStrip " + rps);
            }
            chunkWidth = width;
            chunkHeight = (int) Math.min(rps, height);
            offsets = entry(ifd, STRIP_OFFSETS, "StripOffsets");
            byteCounts = entry(ifd, STRIP_BYTE_COUNTS, "StripByteCounts");
        }
        across = (int) ((width + (long) chunkWidth - 1) / chunkWidth);
        down = (int) ((height + (long) chunkHeight - 1) / chunkHeight);
        long expected = (long) across * down;
        if (offsets.count != expected || byteCounts.count != expected) {
            throw error("expected " + expected + " " + kind + "s, the file lists " + offsets.count + " offsets and "
                    + byteCounts.count + " byte counts");
        }
        for (Entry e : new Entry[]{offsets, byteCounts}) {
            int t = e.type;
            if (t != 3 && t != 4 && t != 16 && t != 13 && t != 18) {
                throw error(kind + " offsets or byte counts stored as field type " + t);
            }
        }
        long rowBytes = (long) chunkWidth * spp * bytesPerSample;
        if (rowBytes > Integer.MAX_VALUE - 8) {
            throw error(kind + "s of " + chunkWidth + " pixels are too wide");
        }
        chunkRowBytes = (int) rowBytes;
        int max = (1 << depth) - 1;
        lut = new float[max + 1];
        for (int v = 0; v <= max; v++) {
            lut[v] = range.decode(v, max);
        }
        chunks = new Chunk[across];
        for (int i = 0; i < across; i++) {
            chunks[i] = new Chunk();
        }
        r = new float[width];
        g = new float[width];
        b = new float[width];
    }

    /** Opens a TIFF or BigTIFF file and reads its first IFD. */
    public static TiffStripReader open(Path file, PixelRange range) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(range, "range");
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw StripReaders.error(file, IoErrors.reason(e), e);
        }
        try {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(16);
            head.limit((int) Math.min(16, size));
            readFully(ch, head, 0, file, "the header");
            if (size < 8) {
                throw StripReaders.error(file, "truncated: the file ends inside the header (" + size + " bytes)",
                        null);
            }
            byte b0 = head.get(0);
            byte b1 = head.get(1);
            ByteOrder order;
            if (b0 == 'I' && b1 == 'I') {
                order = ByteOrder.LITTLE_ENDIAN;
            } else if (b0 == 'M' && b1 == 'M') {
                order = ByteOrder.BIG_ENDIAN;
            } else {
                throw StripReaders.error(file, "not a TIFF file (bad byte-order mark)", null);
            }
            head.order(order);
            int version = head.getShort(2) & 0xffff;
            boolean big;
            long ifdAt;
            if (version == 42) {
                big = false;
                ifdAt = head.getInt(4) & 0xffffffffL;
            } else if (version == 43) {
                big = true;
                if (size < 16) {
                    throw StripReaders.error(file, "truncated: the file ends inside the BigTIFF header", null);
                }
                if (head.getShort(4) != 8 || head.getShort(6) != 0) {
                    throw StripReaders.error(file, "bad BigTIFF header (offset size " + head.getShort(4) + ")",
                            null);
                }
                ifdAt = head.getLong(8);
            } else {
                throw StripReaders.error(file, "not a TIFF file (version " + version + ", expected 42 or 43)",
                        null);
            }
            if (ifdAt < 8 || ifdAt >= size) {
                throw StripReaders.error(file, "truncated or corrupt: the first IFD offset " + ifdAt
                        + " is outside the " + size + "-byte file", null);
            }
            Map<Integer, Entry> ifd = readIfd(file, ch, size, order, big, ifdAt);
            return new TiffStripReader(file, ch, size, order, ifd, range);
        } catch (VaeException e) {
            closeQuietly(ch);
            throw e;
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            throw StripReaders.error(file, PngStripReader.describe(e), e);
        }
    }

    private static Map<Integer, Entry> readIfd(Path file, FileChannel ch, long size, ByteOrder order, boolean big,
                                               long at) throws IOException {
        ByteBuffer cb = ByteBuffer.allocate(big ? 8 : 2).order(order);
        readFully(ch, cb, at, file, "the IFD");
        long n = big ? cb.getLong(0) : cb.getShort(0) & 0xffff;
        if (n <= 0 || n > 4096) {
            throw StripReaders.error(file, "corrupt IFD (" + n + " entries)", null);
        }
        int entrySize = big ? 20 : 12;
        long first = at + (big ? 8 : 2);
        ByteBuffer eb = ByteBuffer.allocate((int) n * entrySize).order(order);
        readFully(ch, eb, first, file, "the IFD");
        Map<Integer, Entry> map = new HashMap<>();
        for (int i = 0; i < n; i++) {
            int p = i * entrySize;
            int tag = eb.getShort(p) & 0xffff;
            int type = eb.getShort(p + 2) & 0xffff;
            long count = big ? eb.getLong(p + 4) : eb.getInt(p + 4) & 0xffffffffL;
            int ts = typeSize(type);
            if (ts == 0) {
                continue; // unknown field type: readers must skip it
            }
            if (count < 0 || count > size) {
                throw StripReaders.error(file, "corrupt IFD entry for tag " + tag + " (" + count + " values)",
                        null);
            }
            long bytes = count * ts;
            int inline = big ? 8 : 4;
            long valueAt = first + p + (big ? 12 : 8);
            if (bytes > inline) {
                valueAt = big ? eb.getLong(p + 12) : eb.getInt(p + 8) & 0xffffffffL;
                if (valueAt < 0 || valueAt + bytes > size) {
                    throw StripReaders.error(file, "truncated or corrupt: the values of tag " + tag
                            + " lie outside the file", null);
                }
            }
            map.putIfAbsent(tag, new Entry(tag, type, count, valueAt));
        }
        return map;
    }

    private static int typeSize(int type) {
        return switch (type) {
            case 1, 2, 6, 7 -> 1;
            case 3, 8 -> 2;
            case 4, 9, 11, 13 -> 4;
            case 5, 10, 12, 16, 17, 18 -> 8;
            default -> 0;
        };
    }

    private long value(Entry e, long index) throws IOException {
        if (index >= e.count) {
            throw error("tag " + e.tag + " has " + e.count + " values, value " + index + " was needed");
        }
        int ts = typeSize(e.type);
        ByteBuffer bb = ByteBuffer.allocate(8).order(order);
        bb.limit(ts);
        readFully(ch, bb, e.at + index * ts, file, "tag " + e.tag);
        return switch (e.type) {
            case 1, 7 -> bb.get(0) & 0xff;
            case 3 -> bb.getShort(0) & 0xffff;
            case 4, 13 -> bb.getInt(0) & 0xffffffffL;
            case 16, 18 -> bb.getLong(0);
            default -> throw error("tag " + e.tag + " has field type " + e.type + ", expected an integer");
        };
    }

    private long required(Map<Integer, Entry> ifd, int tag, String name) throws IOException {
        return value(entry(ifd, tag, name), 0);
    }

    private Entry entry(Map<Integer, Entry> ifd, int tag, String name) {
        Entry e = ifd.get(tag);
        if (e == null || e.count == 0) {
            throw error("missing " + name + " (tag " + tag + ")");
        }
        return e;
    }

    private long optional(Map<Integer, Entry> ifd, int tag, long fallback) throws IOException {
        Entry e = ifd.get(tag);
        return e == null || e.count == 0 ? fallback : value(e, 0);
    }

    private static String photometricName(long p) {
        return switch ((int) p) {
            case 0, 1 -> "greyscale (PhotometricInterpretation " + p + ")";
            case 3 -> "palette (PhotometricInterpretation 3)";
            case 4 -> "a transparency mask (PhotometricInterpretation 4)";
            case 5 -> "CMYK (PhotometricInterpretation 5)";
            case 6 -> "YCbCr (PhotometricInterpretation 6)";
            case 8, 9, 10 -> "CIE Lab (PhotometricInterpretation " + p + ")";
            default -> "PhotometricInterpretation " + p;
        };
    }

    private static String compressionName(long c) {
        String name = switch ((int) c) {
            case 2 -> "CCITT RLE";
            case 3, 4 -> "CCITT fax";
            case 5 -> "LZW";
            case 6, 7 -> "JPEG";
            case 32773 -> "PackBits";
            case 34712 -> "JPEG 2000";
            case 34925 -> "LZMA";
            case 50000 -> "Zstandard";
            case 50001 -> "WebP";
            default -> null;
        };
        return name == null ? String.valueOf(c) : c + " (" + name + ")";
    }

    @Override
    public Path file() {
        return file;
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
    public int rowsRead() {
        return rows;
    }

    /** Whether the file is tiled (else it is in strips). */
    public boolean tiled() {
        return tiled;
    }

    @Override
    public void readRows(Tensor into) {
        if (closed) {
            throw new IllegalStateException("reader of " + file + " is closed");
        }
        int count = StripReaders.checkInto(this, into);
        MemorySegment seg = into.data();
        long plane = (long) count * width * 4;
        try {
            for (int y = 0; y < count; y++) {
                if (band < 0 || rowInBand == bandRows) {
                    startBand(band + 1);
                }
                for (int c = 0; c < across; c++) {
                    Chunk k = chunks[c];
                    k.nextRow();
                    convert(k.row, c * chunkWidth, Math.min(chunkWidth, width - c * chunkWidth));
                }
                rowInBand++;
                long at = (long) y * width * 4;
                MemorySegment.copy(r, 0, seg, DType.FLOAT, at, width);
                MemorySegment.copy(g, 0, seg, DType.FLOAT, plane + at, width);
                MemorySegment.copy(b, 0, seg, DType.FLOAT, 2 * plane + at, width);
                rows++;
            }
        } catch (VaeException e) {
            close();
            throw e;
        } catch (IOException | RuntimeException e) {
            close();
            throw StripReaders.error(file, PngStripReader.describe(e), e);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (Chunk c : chunks) {
                c.end();
            }
            closeQuietly(ch);
        }
    }

    private void convert(byte[] row, int x0, int n) {
        if (bytesPerSample == 1) {
            for (int i = 0, at = 0; i < n; i++, at += spp) {
                r[x0 + i] = lut[row[at] & 0xff];
                g[x0 + i] = lut[row[at + 1] & 0xff];
                b[x0 + i] = lut[row[at + 2] & 0xff];
            }
        } else {
            int hi = order == ByteOrder.BIG_ENDIAN ? 0 : 1;
            int lo = 1 - hi;
            int step = 2 * spp;
            for (int i = 0, at = 0; i < n; i++, at += step) {
                r[x0 + i] = lut[((row[at + hi] & 0xff) << 8) | (row[at + lo] & 0xff)];
                g[x0 + i] = lut[((row[at + 2 + hi] & 0xff) << 8) | (row[at + 2 + lo] & 0xff)];
                b[x0 + i] = lut[((row[at + 4 + hi] & 0xff) << 8) | (row[at + 4 + lo] & 0xff)];
            }
        }
    }

    /** Reads band {@code index}'s offsets and byte counts and points one chunk stream at each. */
    private void startBand(int index) throws IOException {
        band = index;
        rowInBand = 0;
        bandRows = Math.min(chunkHeight, height - index * chunkHeight);
        long first = (long) index * across;
        long[] offs = values(offsets, first, across);
        long[] counts = values(byteCounts, first, across);
        for (int c = 0; c < across; c++) {
            long n = first + c;
            String name = (tiled ? "tile " : "strip ") + n;
            long off = offs[c];
            long len = counts[c];
            if (len < 0 || off < 0 || (len > 0 && off + len > fileSize)) {
                throw error("truncated: " + name + " (" + len + " bytes at " + off + ") lies beyond the end of the "
                        + fileSize + "-byte file");
            }
            if (!deflate && len > 0 && len < (long) chunkRowBytes * bandRows) {
                throw error(name + " is truncated: " + len + " bytes for " + bandRows + " rows of " + chunkRowBytes
                        + " bytes");
            }
            chunks[c].start(name, off, len);
        }
    }

    private long[] values(Entry e, long first, int n) throws IOException {
        int ts = typeSize(e.type);
        ByteBuffer bb = ByteBuffer.allocate(n * ts).order(order);
        readFully(ch, bb, e.at + first * ts, file, "the " + (tiled ? "tile" : "strip") + " offsets");
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (ts) {
                case 2 -> bb.getShort(i * 2) & 0xffff;
                case 4 -> bb.getInt(i * 4) & 0xffffffffL;
                default -> bb.getLong(i * 8);
            };
        }
        return out;
    }

    /** The stream of rows of one strip or tile of the current band. */
    private final class Chunk {
        final byte[] row = new byte[chunkRowBytes];
        private ByteBuffer buf;
        private Inflater inflater;
        private String name;
        private long next;
        private long end;
        private boolean empty;

        void start(String name, long offset, long length) {
            this.name = name;
            this.next = offset;
            this.end = offset + length;
            // GDAL writes "sparse" files whose empty chunks have offset and byte count 0: all-zero pixels.
            this.empty = length == 0;
            int size = (int) Math.min(Math.max(length, 1), 1 << 15);
            if (buf == null || buf.capacity() < size) {
                buf = ByteBuffer.allocate(size);
            }
            buf.clear().limit(0);
            if (deflate) {
                if (inflater == null) {
                    inflater = new Inflater();
                } else {
                    inflater.reset();
                }
            }
        }

        void nextRow() throws IOException {
            if (empty) {
                Arrays.fill(row, (byte) 0);
                return;
            }
            if (deflate) {
                inflateRow();
            } else {
                int filled = 0;
                while (filled < row.length) {
                    if (!buf.hasRemaining()) {
                        refill();
                    }
                    int n = Math.min(buf.remaining(), row.length - filled);
                    buf.get(row, filled, n);
                    filled += n;
                }
            }
            if (predictor) {
                undoPredictor();
            }
        }

        private void inflateRow() throws IOException {
            int filled = 0;
            while (filled < row.length) {
                int n;
                try {
                    n = inflater.inflate(row, filled, row.length - filled);
                } catch (DataFormatException e) {
                    throw error("corrupt deflate data in " + name + " (zlib: " + e.getMessage() + ")");
                }
                filled += n;
                if (n == 0) {
                    if (inflater.finished()) {
                        throw error("the data of " + name + " ends early (row " + rowInBand + ")");
                    }
                    if (inflater.needsDictionary()) {
                        throw error("corrupt deflate data in " + name + " (asks for a dictionary)");
                    }
                    if (inflater.needsInput()) {
                        refill();
                        inflater.setInput(buf.array(), 0, buf.limit());
                        buf.position(buf.limit());
                    }
                }
            }
        }

        private void refill() throws IOException {
            if (next >= end) {
                throw error(name + " is truncated: its data ends before row " + rowInBand);
            }
            int n = (int) Math.min(buf.capacity(), end - next);
            buf.clear().limit(n);
            readFully(ch, buf, next, file, name);
            buf.flip();
            next += n;
        }

        private void undoPredictor() {
            if (bytesPerSample == 1) {
                for (int i = spp; i < row.length; i++) {
                    row[i] += row[i - spp];
                }
            } else {
                int hi = order == ByteOrder.BIG_ENDIAN ? 0 : 1;
                int lo = 1 - hi;
                for (int i = 2 * spp; i < row.length; i += 2) {
                    int prev = ((row[i - 2 * spp + hi] & 0xff) << 8) | (row[i - 2 * spp + lo] & 0xff);
                    int v = (((row[i + hi] & 0xff) << 8) | (row[i + lo] & 0xff)) + prev;
                    row[i + hi] = (byte) (v >>> 8);
                    row[i + lo] = (byte) v;
                }
            }
        }

        void end() {
            if (inflater != null) {
                inflater.end();
                inflater = null;
            }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer bb, long at, Path file, String what)
            throws IOException {
        long pos = at;
        while (bb.hasRemaining()) {
            int n = ch.read(bb, pos);
            if (n < 0) {
                throw StripReaders.error(file, "truncated: the file ends inside " + what, null);
            }
            pos += n;
        }
    }

    private VaeException error(String reason) {
        return StripReaders.error(file, reason, null);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // Nothing to do.
        }
    }
}
