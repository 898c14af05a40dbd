package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.util.IoErrors;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.zip.Deflater;

/**
 * Writes a tiled RGB BigTIFF (TIFF version 43, little-endian, 8-byte offsets) strip by strip. Only one band of
 * tiles (tile height x image width x 3 samples) is buffered: when a band is full its tiles are (optionally)
 * compressed and appended, and their offsets and byte counts are written into tables reserved right after the IFD,
 * which is at the start of the file. Same temporary-file semantics as {@link ImageStripWriter}.
 *
 * <p>Layout: 16-byte header, the one IFD, the TileOffsets and TileByteCounts tables (LONG8), then the tiles in
 * row-major order. Tiles at the right and bottom edges are padded with zeros to the full tile size, as TIFF
 * requires. Compression is none (1) or Adobe deflate (8, a zlib stream per tile), by default with the horizontal
 * differencing predictor (Predictor 2), which libtiff, tifffile and PIL read (checked with
 * tiffinfo, tifffile 2023.2 and Pillow 9.4).
 */
public final class StreamingTiffWriter implements ImageStripWriter {

    public enum Compression {
        NONE(1), DEFLATE(8);

        final int code;

        Compression(int code) {
            this.code = code;
        }
    }

    /**
     * Writer settings.
     *
     * @param tileSize    tile width and height, a multiple of 16 (the TIFF specification's rule)
     * @param compression none or deflate
     * @param level       deflate level 1 to 9 (ignored when uncompressed)
     * @param predictor   horizontal differencing before deflate (ignored when uncompressed)
     */
    public record Options(int tileSize, Compression compression, int level, boolean predictor) {
        /**
         * 256x256 tiles, deflate level 4 with the predictor. On the 8192x8192 textured image of
         * {@link StreamingPngWriter#DEFAULT_LEVEL} (writer CPU time, one core): uncompressed 430 MB/s; level 1 66 MB/s
         * at 52.8% of raw; level 4 36 MB/s at 50.7%; level 6 9 MB/s at 49.8%; level 6 without the predictor
         * 35 MB/s at 70.8%.
         */
        public static final Options DEFAULT = new Options(256, Compression.DEFLATE, 4, true);

        public Options {
            Objects.requireNonNull(compression, "compression");
            if (tileSize < 16 || tileSize % 16 != 0 || tileSize > 1 << 14) {
                throw new IllegalArgumentException("TIFF tile size must be a multiple of 16 from 16 to 16384, got "
                        + tileSize);
            }
            if (level < 0 || level > 9) {
                throw new IllegalArgumentException("deflate level must be 0 to 9, got " + level);
            }
        }

        public Options withTileSize(int t) {
            return new Options(t, compression, level, predictor);
        }

        public Options withCompression(Compression c) {
            return new Options(tileSize, c, level, predictor);
        }

        public Options withLevel(int l) {
            return new Options(tileSize, compression, l, predictor);
        }

        public Options withPredictor(boolean p) {
            return new Options(tileSize, compression, level, p);
        }
    }

    private static final int HEADER = 16;
    private static final String SOFTWARE = "vae4j";

    private final Path target;
    private final int width;
    private final int height;
    private final int bitDepth;
    private final Options options;
    private final PendingFile file;
    private final int tile;
    private final int across;
    private final int down;
    private final int pixelBytes;
    private final int tileRowBytes;
    private final Quantize quantize;
    private final byte[] rowBuf;
    /** The current band, tile by tile: tiles[c] holds tile c of the band, row-major, padding included. */
    private final byte[][] tiles;
    private final Deflater deflater;
    private byte[] packed;
    private final long offsetsAt;
    private final long countsAt;
    private long dataEnd;
    private int rows;
    private int band;
    private boolean finished;

    private StreamingTiffWriter(Path target, int width, int height, int bitDepth, Options options,
                                PendingFile file) {
        this.target = target;
        this.width = width;
        this.height = height;
        this.bitDepth = bitDepth;
        this.options = options;
        this.file = file;
        this.tile = options.tileSize();
        this.across = (width + tile - 1) / tile;
        this.down = (height + tile - 1) / tile;
        this.pixelBytes = 3 * bitDepth / 8;
        this.tileRowBytes = tile * pixelBytes;
        this.quantize = new Quantize(width);
        this.rowBuf = new byte[width * pixelBytes];
        this.tiles = new byte[across][tile * tileRowBytes];
        this.deflater = options.compression() == Compression.DEFLATE ? new Deflater(options.level()) : null;
        long tilesTotal = (long) across * down;
        long ifdAt = HEADER;
        long ifdSize = 8 + 20L * tags().length + 8;
        this.offsetsAt = ifdAt + ifdSize;
        this.countsAt = tilesTotal > 1 ? offsetsAt + 8 * tilesTotal : -1;
        this.dataEnd = tilesTotal > 1 ? countsAt + 8 * tilesTotal : offsetsAt;
    }

    /** Opens a writer with {@link Options#DEFAULT}: 256x256 tiles, deflate level 4 with the predictor. */
    public static StreamingTiffWriter open(Path target, int width, int height, int bitDepth) {
        return open(target, width, height, bitDepth, Options.DEFAULT);
    }

    /** Opens a writer: 8 or 16 bits per sample. */
    public static StreamingTiffWriter open(Path target, int width, int height, int bitDepth, Options options) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(options, "options");
        if (width <= 0 || height <= 0) {
            throw new VaeException("cannot write " + target + ": the image is empty (" + width + "x" + height + ")");
        }
        if (bitDepth != 8 && bitDepth != 16) {
            throw new IllegalArgumentException("TIFF bit depth must be 8 or 16, got " + bitDepth);
        }
        long pixelBytes = 3L * bitDepth / 8;
        if ((long) width * pixelBytes > Integer.MAX_VALUE - 8
                || (long) options.tileSize() * options.tileSize() * pixelBytes > Integer.MAX_VALUE - 8) {
            throw new VaeException("cannot write " + target + ": " + width + " pixels wide is too wide");
        }
        PendingFile file = PendingFile.create(target);
        StreamingTiffWriter w = null;
        try {
            w = new StreamingTiffWriter(target, width, height, bitDepth, options, file);
            w.writeHeader();
            return w;
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            if (w != null && w.deflater != null) {
                w.deflater.end();
            }
            file.discard();
            if (e instanceof OutOfMemoryError) {
                long band = (long) options.tileSize() * (width + options.tileSize() - 1) / options.tileSize()
                        * options.tileSize() * pixelBytes;
                throw new VaeException("cannot write " + target + ": not enough Java heap for one band of tiles ("
                        + band + " bytes); use smaller tiles or a larger -Xmx", e);
            }
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

    public Options options() {
        return options;
    }

    @Override
    public long writeRows(Tensor strip, PixelRange range) {
        Objects.requireNonNull(strip, "strip");
        Objects.requireNonNull(range, "range");
        if (finished) {
            throw new IllegalStateException("TIFF writer for " + target + " is already closed");
        }
        try {
            int n = Quantize.checkStrip(target, strip, width);
            if ((long) rows + n > height) {
                throw new VaeException("cannot write " + target + ": " + ((long) rows + n) + " rows given for an image "
                        + height + " rows high");
            }
            long nans = 0;
            for (int y = 0; y < n; y++) {
                int inBand = rows - band * tile;
                if (inBand == 0) {
                    startBand();
                }
                nans += bitDepth == 8
                        ? quantize.row8(strip, n, y, range, rowBuf, 0)
                        : quantize.row16(strip, n, y, range, rowBuf, 0, false);
                for (int c = 0; c < across; c++) {
                    int from = c * tileRowBytes;
                    System.arraycopy(rowBuf, from, tiles[c], inBand * tileRowBytes,
                            Math.min(tileRowBytes, rowBuf.length - from));
                }
                rows++;
                if (inBand + 1 == tile || rows == height) {
                    writeBand();
                    band++;
                }
            }
            return nans;
        } catch (IOException | RuntimeException e) {
            abort();
            throw e instanceof VaeException v ? v
                    : new VaeException("cannot write " + target + ": " + IoErrors.reason(e), e);
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
            finished = true;
            if (deflater != null) {
                deflater.end();
            }
            file.commit();
        } catch (RuntimeException | Error e) {
            abort();
            throw e;
        }
    }

    @Override
    public void abort() {
        if (!finished) {
            finished = true;
            if (deflater != null) {
                deflater.end();
            }
        }
        file.discard();
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Zeroes the padding a band will not overwrite: the right edge tile's extra columns, the bottom band's rows. */
    private void startBand() {
        int bandRows = Math.min(tile, height - band * tile);
        int lastCols = width - (across - 1) * tile;
        if (lastCols < tile) {
            byte[] t = tiles[across - 1];
            for (int y = 0; y < bandRows; y++) {
                Arrays.fill(t, y * tileRowBytes + lastCols * pixelBytes, (y + 1) * tileRowBytes, (byte) 0);
            }
        }
        if (bandRows < tile) {
            for (byte[] t : tiles) {
                Arrays.fill(t, bandRows * tileRowBytes, t.length, (byte) 0);
            }
        }
    }

    private void writeBand() throws IOException {
        ByteBuffer offs = ByteBuffer.allocate(8 * across).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer counts = ByteBuffer.allocate(8 * across).order(ByteOrder.LITTLE_ENDIAN);
        for (int c = 0; c < across; c++) {
            byte[] data = tiles[c];
            int length = data.length;
            if (deflater != null) {
                if (options.predictor()) {
                    predict(data);
                }
                length = compress(data);
                data = packed;
            }
            file.writeAt(ByteBuffer.wrap(data, 0, length), dataEnd);
            offs.putLong(dataEnd);
            counts.putLong(length);
            dataEnd += length;
        }
        offs.flip();
        counts.flip();
        long first = (long) band * across;
        if (countsAt < 0) {
            // A single tile: its offset and byte count are stored inline in the IFD entries.
            file.writeAt(offs, inlineValueAt(324));
            file.writeAt(counts, inlineValueAt(325));
        } else {
            file.writeAt(offs, offsetsAt + 8 * first);
            file.writeAt(counts, countsAt + 8 * first);
        }
    }

    /** Horizontal differencing (TIFF Predictor 2) of each row of a tile, in place. */
    private void predict(byte[] t) {
        for (int y = 0; y < tile; y++) {
            int start = y * tileRowBytes;
            if (bitDepth == 8) {
                for (int i = start + tileRowBytes - 1; i >= start + 3; i--) {
                    t[i] -= t[i - 3];
                }
            } else {
                for (int i = start + tileRowBytes - 2; i >= start + 6; i -= 2) {
                    int v = (t[i] & 0xff) | (t[i + 1] & 0xff) << 8;
                    int p = (t[i - 6] & 0xff) | (t[i - 5] & 0xff) << 8;
                    int d = v - p;
                    t[i] = (byte) d;
                    t[i + 1] = (byte) (d >>> 8);
                }
            }
        }
    }

    /** Deflates a whole tile into {@link #packed}; returns its length. */
    private int compress(byte[] data) {
        deflater.reset();
        deflater.setInput(data);
        deflater.finish();
        if (packed == null) {
            packed = new byte[data.length + data.length / 16 + 64];
        }
        int n = 0;
        while (!deflater.finished()) {
            if (n == packed.length) {
                packed = Arrays.copyOf(packed, packed.length * 2);
            }
            n += deflater.deflate(packed, n, packed.length - n);
        }
        return n;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Header and IFD

    /** One IFD entry; {@code inline} holds up to 8 bytes of value, else {@code pointer} is the values' offset. */
    private record Tag(int tag, int type, long count, long[] inline, long pointer) {
    }

    private Tag[] tags() {
        long tilesTotal = (long) across * down;
        boolean one = tilesTotal == 1;
        boolean deflate = options.compression() == Compression.DEFLATE;
        int count = deflate ? 17 : 16; // libtiff warns about a Predictor tag on uncompressed files
        long offsets = HEADER + 8 + 20L * count + 8;
        int bits = bitDepth;
        List<Tag> t = new ArrayList<>(count);
        t.add(new Tag(256, 4, 1, new long[]{width}, 0));                         // ImageWidth LONG
        t.add(new Tag(257, 4, 1, new long[]{height}, 0));                        // ImageLength LONG
        t.add(new Tag(258, 3, 3, new long[]{bits, bits, bits}, 0));              // BitsPerSample SHORT[3]
        t.add(new Tag(259, 3, 1, new long[]{options.compression().code}, 0));   // Compression
        t.add(new Tag(262, 3, 1, new long[]{2}, 0));                             // Photometric: RGB
        t.add(new Tag(277, 3, 1, new long[]{3}, 0));                             // SamplesPerPixel
        t.add(new Tag(282, 5, 1, new long[]{72, 1}, 0));                         // XResolution RATIONAL
        t.add(new Tag(283, 5, 1, new long[]{72, 1}, 0));                         // YResolution
        t.add(new Tag(284, 3, 1, new long[]{1}, 0));                             // PlanarConfiguration: chunky
        t.add(new Tag(296, 3, 1, new long[]{2}, 0));                             // ResolutionUnit: inch
        t.add(new Tag(305, 2, SOFTWARE.length() + 1, null, 0));                  // Software ASCII (inline)
        if (deflate) {
            t.add(new Tag(317, 3, 1, new long[]{options.predictor() ? 2 : 1}, 0)); // Predictor
        }
        t.add(new Tag(322, 4, 1, new long[]{tile}, 0));                          // TileWidth LONG
        t.add(new Tag(323, 4, 1, new long[]{tile}, 0));                          // TileLength LONG
        t.add(new Tag(324, 16, tilesTotal, one ? new long[]{0} : null, offsets));                    // LONG8
        t.add(new Tag(325, 16, tilesTotal, one ? new long[]{0} : null, offsets + 8 * tilesTotal));  // LONG8
        t.add(new Tag(339, 3, 3, new long[]{1, 1, 1}, 0));                       // SampleFormat: unsigned
        if (t.size() != count) {
            throw new IllegalStateException("IFD has " + t.size() + " entries, expected " + count);
        }
        return t.toArray(new Tag[0]);
    }

    /** Where the inline value of an IFD entry is (for a single tile's offset and byte count). */
    private long inlineValueAt(int tag) {
        Tag[] ts = tags();
        for (int i = 0; i < ts.length; i++) {
            if (ts[i].tag == tag) {
                return HEADER + 8 + 20L * i + 12;
            }
        }
        throw new IllegalStateException("no tag " + tag);
    }

    private void writeHeader() throws IOException {
        Tag[] ts = tags();
        if (HEADER + 8 + 20L * ts.length + 8 != offsetsAt) {
            throw new IllegalStateException("IFD layout mismatch");
        }
        ByteBuffer bb = ByteBuffer.allocate((int) offsetsAt).order(ByteOrder.LITTLE_ENDIAN);
        bb.put((byte) 'I').put((byte) 'I').putShort((short) 43).putShort((short) 8).putShort((short) 0)
                .putLong(HEADER);
        bb.putLong(ts.length);
        for (Tag t : ts) {
            bb.putShort((short) t.tag).putShort((short) t.type).putLong(t.count);
            int start = bb.position();
            if (t.tag == 305) {
                bb.put(SOFTWARE.getBytes(StandardCharsets.US_ASCII)).put((byte) 0);
            } else if (t.inline == null) {
                bb.putLong(t.pointer);
            } else {
                for (long v : t.inline) {
                    switch (t.type) {
                        case 3 -> bb.putShort((short) v);
                        case 4, 5 -> bb.putInt((int) v);
                        default -> bb.putLong(v);
                    }
                }
            }
            bb.position(start + 8); // the rest of the 8-byte value field stays zero
        }
        bb.putLong(0); // no next IFD
        bb.flip();
        file.writeAt(bb, 0);
        if (countsAt >= 0) {
            // Reserve the tables: a file cut short by a crash would otherwise hold garbage there. Zero means
            // "missing tile" to GDAL, and other readers fail on it, which is what an incomplete file deserves.
            long tablesEnd = dataEnd;
            ByteBuffer zeros = ByteBuffer.allocate(1 << 16);
            for (long at = offsetsAt; at < tablesEnd; at += zeros.capacity()) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), tablesEnd - at));
                file.writeAt(zeros, at);
            }
        }
    }
}
