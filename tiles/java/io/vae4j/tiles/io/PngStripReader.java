package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.util.IoErrors;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads a non-interlaced PNG row by row: the IDAT chunks are streamed through one {@link Inflater} and each row is
 * unfiltered against the previous one, so memory is a few rows whatever the height. All colour types and bit
 * depths of the PNG specification are read (grey 1-16 bits, RGB 8/16, palette 1-8, grey+alpha and RGBA 8/16),
 * giving what {@code Images.read} gives for the same file.
 *
 * <p>Every chunk's CRC is checked; a bad signature, a missing or misplaced IHDR, an invalid header field, a bad
 * chunk length, an unknown critical chunk, a bad filter type, a palette index outside the palette, a corrupt or
 * short zlib stream and a file that ends early are all errors naming the file and the problem.
 */
public final class PngStripReader implements ImageStripReader {
    static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private final Path file;
    private final InputStream in;
    private final int width;
    private final int height;
    private final int bitDepth;
    private final int colourType;
    private final int channels;
    private final int bpp;
    private final int rowBytes;
    private final float[] lut8;
    private final float[] lut16;
    /** Palette as decoded r, g, b triples (colour type 3 only). */
    private final float[] palette;
    private final Inflater inflater = new Inflater();
    private final CRC32 crc = new CRC32();
    private final byte[] inBuf = new byte[1 << 16];

    private byte[] prev;
    private byte[] cur;
    private final float[] r;
    private final float[] g;
    private final float[] b;
    private int rows;
    private boolean closed;
    /** Bytes of the current IDAT chunk still to be read; -1 once the IDAT run has ended. */
    private long idatLeft;
    /** Type of the chunk that followed the IDAT run (read, header only). */
    private String afterIdat;
    private long afterIdatLength;

    private PngStripReader(Path file, InputStream in, Header h, float[] palette, long firstIdatLength,
                           PixelRange range) {
        this.file = file;
        this.in = in;
        this.width = h.width;
        this.height = h.height;
        this.bitDepth = h.bitDepth;
        this.colourType = h.colourType;
        this.channels = switch (colourType) {
            case 0, 3 -> 1;
            case 4 -> 2;
            case 2 -> 3;
            default -> 4;
        };
        int bitsPerPixel = channels * bitDepth;
        this.bpp = Math.max(1, bitsPerPixel / 8);
        this.rowBytes = (int) (((long) width * bitsPerPixel + 7) / 8);
        this.lut8 = new float[256];
        for (int v = 0; v < 256; v++) {
            lut8[v] = range.decode(v, 255);
        }
        if (bitDepth == 16) {
            lut16 = new float[65536];
            for (int v = 0; v < 65536; v++) {
                lut16[v] = range.decode(v, 65535);
            }
        } else {
            lut16 = null;
        }
        if (palette != null) {
            this.palette = new float[palette.length];
            for (int i = 0; i < palette.length; i++) {
                this.palette[i] = lut8[(int) palette[i]];
            }
        } else {
            this.palette = null;
        }
        this.idatLeft = firstIdatLength;
        crc.update(new byte[]{'I', 'D', 'A', 'T'}); // readHead has read the first IDAT's type
        this.prev = new byte[rowBytes + 1];
        this.cur = new byte[rowBytes + 1];
        this.r = new float[width];
        this.g = new float[width];
        this.b = new float[width];
    }

    private record Header(int width, int height, int bitDepth, int colourType) {
    }

    /** Opens a PNG file and reads its chunks up to the first IDAT. */
    public static PngStripReader open(Path file, PixelRange range) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(range, "range");
        InputStream in;
        try {
            in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        } catch (IOException e) {
            throw StripReaders.error(file, IoErrors.reason(e), e);
        }
        try {
            return readHead(file, in, range);
        } catch (VaeException e) {
            closeQuietly(in);
            throw e;
        } catch (IOException | RuntimeException e) {
            closeQuietly(in);
            throw StripReaders.error(file, describe(e), e);
        }
    }

    private static PngStripReader readHead(Path file, InputStream in, PixelRange range) throws IOException {
        byte[] sig = in.readNBytes(8);
        if (sig.length < 8 && Arrays.equals(sig, 0, sig.length, SIGNATURE, 0, sig.length)) {
            throw StripReaders.error(file, "truncated: the file ends inside the PNG signature", null);
        }
        if (!Arrays.equals(sig, SIGNATURE)) {
            throw StripReaders.error(file, "not a PNG file (bad signature)", null);
        }
        CRC32 crc = new CRC32();
        Header header = null;
        float[] palette = null;
        while (true) {
            long length = readLength(file, in, header == null ? "IHDR" : "a chunk");
            String type = readType(file, in);
            if (header == null && !type.equals("IHDR")) {
                throw StripReaders.error(file, "missing IHDR chunk (the first chunk is " + type + ")", null);
            }
            switch (type) {
                case "IHDR" -> {
                    if (header != null) {
                        throw StripReaders.error(file, "more than one IHDR chunk", null);
                    }
                    if (length != 13) {
                        throw StripReaders.error(file, "bad IHDR chunk length " + length + " (expected 13)",
                                null);
                    }
                    byte[] d = readChunkData(file, in, type, (int) length, crc);
                    header = parseHeader(file, d);
                }
                case "PLTE" -> {
                    if (length == 0 || length % 3 != 0 || length > 768) {
                        throw StripReaders.error(file, "bad PLTE chunk length " + length
                                + " (expected 3 to 768, a multiple of 3)", null);
                    }
                    byte[] d = readChunkData(file, in, type, (int) length, crc);
                    palette = new float[d.length];
                    for (int i = 0; i < d.length; i++) {
                        palette[i] = d[i] & 0xff;
                    }
                }
                case "IDAT" -> {
                    if (header.colourType == 3 && palette == null) {
                        throw StripReaders.error(file, "palette image without a PLTE chunk", null);
                    }
                    if (header.colourType != 3) {
                        palette = null; // a suggested palette for an RGB image: not needed
                    } else if (palette.length / 3 > 1 << header.bitDepth) {
                        throw StripReaders.error(file, "PLTE has " + palette.length / 3 + " entries, more than "
                                + header.bitDepth + "-bit indices can address", null);
                    }
                    return new PngStripReader(file, in, header, palette, length, range);
                }
                case "IEND" -> throw StripReaders.error(file, "no image data (IEND before any IDAT chunk)", null);
                default -> skipChunk(file, in, type, length, crc);
            }
        }
    }

    private static Header parseHeader(Path file, byte[] d) {
        long w = u32(d, 0);
        long h = u32(d, 4);
        int depth = d[8] & 0xff;
        int ct = d[9] & 0xff;
        if (w == 0 || h == 0 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw StripReaders.error(file, "bad IHDR: image size " + w + "x" + h, null);
        }
        boolean ok = switch (ct) {
            case 0 -> depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
            case 3 -> depth == 1 || depth == 2 || depth == 4 || depth == 8;
            case 2, 4, 6 -> depth == 8 || depth == 16;
            default -> false;
        };
        if (!ok) {
            throw StripReaders.error(file, "bad IHDR: colour type " + ct + " with bit depth " + depth, null);
        }
        if (d[10] != 0 || d[11] != 0) {
            throw StripReaders.error(file, "bad IHDR: unknown compression method " + (d[10] & 0xff)
                    + " or filter method " + (d[11] & 0xff), null);
        }
        if (d[12] == 1) {
            throw StripReaders.error(file, "interlaced PNG not supported for streaming; re-save without interlace",
                    null);
        }
        if (d[12] != 0) {
            throw StripReaders.error(file, "bad IHDR: unknown interlace method " + (d[12] & 0xff), null);
        }
        int channels = switch (ct) {
            case 0, 3 -> 1;
            case 4 -> 2;
            case 2 -> 3;
            default -> 4;
        };
        if ((w * channels * depth + 7) / 8 + 1 > Integer.MAX_VALUE - 8) {
            throw StripReaders.error(file, "rows of " + w + " pixels are too wide", null);
        }
        return new Header((int) w, (int) h, depth, ct);
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
                readRow();
                convert();
                long at = (long) y * width * 4;
                MemorySegment.copy(r, 0, seg, DType.FLOAT, at, width);
                MemorySegment.copy(g, 0, seg, DType.FLOAT, plane + at, width);
                MemorySegment.copy(b, 0, seg, DType.FLOAT, 2 * plane + at, width);
                rows++;
            }
            if (rows == height) {
                finish();
            }
        } catch (VaeException e) {
            close();
            throw e;
        } catch (IOException | RuntimeException e) {
            close();
            throw StripReaders.error(file, describe(e), e);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            inflater.end();
            closeQuietly(in);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Rows

    /** Inflates the next filtered row into {@code cur} (after swapping it with {@code prev}) and unfilters it. */
    private void readRow() throws IOException {
        byte[] t = prev;
        prev = cur;
        cur = t;
        int filled = 0;
        int need = rowBytes + 1;
        while (filled < need) {
            int n;
            try {
                n = inflater.inflate(cur, filled, need - filled);
            } catch (DataFormatException e) {
                throw StripReaders.error(file, "corrupt image data (zlib: " + e.getMessage() + ") in row " + rows,
                        e);
            }
            filled += n;
            if (n == 0) {
                if (inflater.finished()) {
                    throw StripReaders.error(file, "the image data ends after " + rows + " of " + height
                            + " rows", null);
                }
                if (inflater.needsDictionary()) {
                    throw StripReaders.error(file, "corrupt image data (zlib stream asks for a dictionary)", null);
                }
                if (inflater.needsInput()) {
                    int got = readIdat(inBuf);
                    if (got < 0) {
                        throw StripReaders.error(file, "truncated: the image data ends after " + rows + " of "
                                + height + " rows", null);
                    }
                    inflater.setInput(inBuf, 0, got);
                }
            }
        }
        unfilter();
    }

    private void unfilter() {
        byte[] x = cur;
        byte[] p = prev;
        int n = rowBytes + 1;
        int type = x[0];
        switch (type) {
            case 0 -> {
            }
            case 1 -> {
                for (int i = 1 + bpp; i < n; i++) {
                    x[i] += x[i - bpp];
                }
            }
            case 2 -> {
                for (int i = 1; i < n; i++) {
                    x[i] += p[i];
                }
            }
            case 3 -> {
                for (int i = 1; i < n; i++) {
                    int a = i > bpp ? x[i - bpp] & 0xff : 0;
                    x[i] += (byte) ((a + (p[i] & 0xff)) >>> 1);
                }
            }
            case 4 -> {
                for (int i = 1; i < n; i++) {
                    if (i > bpp) {
                        x[i] += (byte) StreamingPngWriter.paeth(x[i - bpp] & 0xff, p[i] & 0xff, p[i - bpp] & 0xff);
                    } else {
                        x[i] += p[i];
                    }
                }
            }
            default -> throw StripReaders.error(file, "bad filter type " + (type & 0xff) + " in row " + rows,
                    null);
        }
    }

    /** The unfiltered row in {@code cur[1..]} to r, g, b. */
    private void convert() {
        byte[] x = cur;
        switch (colourType) {
            case 0 -> {
                if (bitDepth == 16) {
                    for (int i = 0, at = 1; i < width; i++, at += 2) {
                        r[i] = lut16[((x[at] & 0xff) << 8) | (x[at + 1] & 0xff)];
                    }
                } else if (bitDepth == 8) {
                    for (int i = 0; i < width; i++) {
                        r[i] = lut8[x[i + 1] & 0xff];
                    }
                } else {
                    int max = (1 << bitDepth) - 1;
                    int scale = 255 / max; // exact for 1, 2 and 4 bits: 255, 85, 17
                    for (int i = 0; i < width; i++) {
                        r[i] = lut8[packed(x, i) * scale];
                    }
                }
                System.arraycopy(r, 0, g, 0, width);
                System.arraycopy(r, 0, b, 0, width);
            }
            case 3 -> {
                int entries = palette.length / 3;
                for (int i = 0; i < width; i++) {
                    int v = bitDepth == 8 ? x[i + 1] & 0xff : packed(x, i);
                    if (v >= entries) {
                        throw StripReaders.error(file, "palette index " + v + " in row " + rows
                                + " is outside the " + entries + "-entry palette", null);
                    }
                    r[i] = palette[3 * v];
                    g[i] = palette[3 * v + 1];
                    b[i] = palette[3 * v + 2];
                }
            }
            default -> {
                // 4: grey+alpha, 2: RGB, 6: RGBA; alpha is dropped.
                boolean grey = colourType == 4;
                int step = channels * (bitDepth / 8);
                if (bitDepth == 16) {
                    for (int i = 0, at = 1; i < width; i++, at += step) {
                        r[i] = lut16[((x[at] & 0xff) << 8) | (x[at + 1] & 0xff)];
                        if (!grey) {
                            g[i] = lut16[((x[at + 2] & 0xff) << 8) | (x[at + 3] & 0xff)];
                            b[i] = lut16[((x[at + 4] & 0xff) << 8) | (x[at + 5] & 0xff)];
                        }
                    }
                } else {
                    for (int i = 0, at = 1; i < width; i++, at += step) {
                        r[i] = lut8[x[at] & 0xff];
                        if (!grey) {
                            g[i] = lut8[x[at + 1] & 0xff];
                            b[i] = lut8[x[at + 2] & 0xff];
                        }
                    }
                }
                if (grey) {
                    System.arraycopy(r, 0, g, 0, width);
                    System.arraycopy(r, 0, b, 0, width);
                }
            }
        }
    }

    /** Sample {@code i} of a row of 1, 2 or 4-bit samples, most significant bits first. */
    private int packed(byte[] x, int i) {
        int perByte = 8 / bitDepth;
        int v = x[1 + i / perByte] & 0xff;
        int shift = 8 - bitDepth * (i % perByte + 1);
        return (v >>> shift) & ((1 << bitDepth) - 1);
    }

    /**
     * After the last row: the zlib stream must end (its checksum is checked then) and the file must go on to IEND.
     * Extra compressed data after the last row is ignored, as libpng does.
     */
    private void finish() throws IOException {
        byte[] scratch = new byte[4096];
        while (!inflater.finished()) {
            int n;
            try {
                n = inflater.inflate(scratch);
            } catch (DataFormatException e) {
                throw StripReaders.error(file, "corrupt image data (zlib: " + e.getMessage() + ")", e);
            }
            if (n == 0 && !inflater.finished() && inflater.needsInput()) {
                int got = readIdat(inBuf);
                if (got < 0) {
                    throw StripReaders.error(file, "truncated: the image data stream does not end", null);
                }
                inflater.setInput(inBuf, 0, got);
            } else if (n == 0 && inflater.needsDictionary()) {
                throw StripReaders.error(file, "corrupt image data (zlib stream asks for a dictionary)", null);
            }
        }
        while (readIdat(inBuf) >= 0) {
            // Skip (and CRC-check) whatever is left of the IDAT run.
        }
        String type = afterIdat;
        long length = afterIdatLength;
        while (!type.equals("IEND")) {
            if (type.equals("IDAT")) {
                throw StripReaders.error(file, "IDAT chunks are not consecutive", null);
            }
            skipChunk(file, in, type, length, crc);
            length = readLength(file, in, "IEND");
            type = readType(file, in);
        }
        skipChunk(file, in, type, length, crc);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Chunks

    /**
     * Reads up to {@code buf.length} bytes of the IDAT run, moving on to the next IDAT chunk (after checking this
     * one's CRC) when one ends. Returns -1 once the run has ended; the next chunk's header is then remembered.
     */
    private int readIdat(byte[] buf) throws IOException {
        while (idatLeft == 0) {
            checkCrc(file, in, "IDAT", crc);
            long length = readLength(file, in, "IEND");
            String type = readType(file, in);
            crc.reset();
            crc.update(type.getBytes(StandardCharsets.US_ASCII));
            if (!type.equals("IDAT")) {
                idatLeft = -1;
                afterIdat = type;
                afterIdatLength = length;
                return -1;
            }
            idatLeft = length;
        }
        if (idatLeft < 0) {
            return -1;
        }
        int want = (int) Math.min(buf.length, idatLeft);
        int n = in.readNBytes(buf, 0, want);
        if (n < want) {
            throw StripReaders.error(file, "truncated inside an IDAT chunk (after " + rows + " of " + height
                    + " rows)", null);
        }
        crc.update(buf, 0, n);
        idatLeft -= n;
        return n;
    }

    private static long readLength(Path file, InputStream in, String expecting) throws IOException {
        byte[] b = in.readNBytes(4);
        if (b.length < 4) {
            throw StripReaders.error(file, "truncated: the file ends before " + expecting + " (" + b.length
                    + " bytes of a chunk header)", null);
        }
        long length = u32(b, 0);
        if (length > Integer.MAX_VALUE) {
            throw StripReaders.error(file, "bad chunk length " + length + " (at most 2^31-1)", null);
        }
        return length;
    }

    private static String readType(Path file, InputStream in) throws IOException {
        byte[] t = in.readNBytes(4);
        if (t.length < 4) {
            throw StripReaders.error(file, "truncated inside a chunk header", null);
        }
        for (byte c : t) {
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
                throw StripReaders.error(file, "corrupt chunk header (type bytes " + hex(t) + ")", null);
            }
        }
        return new String(t, StandardCharsets.US_ASCII);
    }

    private static byte[] readChunkData(Path file, InputStream in, String type, int length, CRC32 crc)
            throws IOException {
        byte[] d = in.readNBytes(length);
        if (d.length < length) {
            throw StripReaders.error(file, "truncated inside the " + type + " chunk", null);
        }
        crc.reset();
        crc.update(type.getBytes(StandardCharsets.US_ASCII));
        crc.update(d);
        checkCrc(file, in, type, crc);
        return d;
    }

    /** Skips an ancillary chunk (checking its CRC); an unknown critical chunk is an error. */
    private static void skipChunk(Path file, InputStream in, String type, long length, CRC32 crc)
            throws IOException {
        if (Character.isUpperCase(type.charAt(0)) && !type.equals("IEND") && !type.equals("PLTE")) {
            throw StripReaders.error(file, "unknown critical chunk " + type, null);
        }
        crc.reset();
        crc.update(type.getBytes(StandardCharsets.US_ASCII));
        byte[] buf = new byte[(int) Math.min(length, 1 << 16)];
        long left = length;
        while (left > 0) {
            int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, left));
            if (n == 0) {
                throw StripReaders.error(file, "truncated inside the " + type + " chunk", null);
            }
            crc.update(buf, 0, n);
            left -= n;
        }
        checkCrc(file, in, type, crc);
    }

    private static void checkCrc(Path file, InputStream in, String type, CRC32 crc) throws IOException {
        byte[] c = in.readNBytes(4);
        if (c.length < 4) {
            throw StripReaders.error(file, "truncated inside the " + type + " chunk (no CRC)", null);
        }
        long stored = u32(c, 0);
        if (stored != crc.getValue()) {
            throw StripReaders.error(file, "CRC mismatch in the " + type + " chunk (stored "
                    + String.format("%08x", stored) + ", computed " + String.format("%08x", crc.getValue())
                    + "): the file is corrupt", null);
        }
    }

    private static long u32(byte[] b, int at) {
        return ((b[at] & 0xffL) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xff));
        }
        return sb.toString();
    }

    static String describe(Throwable e) {
        if (e instanceof EOFException) {
            return "truncated (unexpected end of file)";
        }
        return IoErrors.reason(e);
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // Nothing to do.
        }
    }
}
