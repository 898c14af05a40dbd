package io.vae4j.tiles.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * PNG files byte by byte for the tests, independent of the code under test: any colour type and bit depth, a
 * chosen filter type per row, IDAT split into small chunks, and hooks to break things.
 */
final class TestPngs {
    private TestPngs() {
    }

    /** Channels per pixel of a PNG colour type. */
    static int channels(int colourType) {
        return switch (colourType) {
            case 0, 3 -> 1;
            case 4 -> 2;
            case 2 -> 3;
            case 6 -> 4;
            default -> throw new IllegalArgumentException("colour type " + colourType);
        };
    }

    static int rowBytes(int width, int colourType, int bitDepth) {
        return (width * channels(colourType) * bitDepth + 7) / 8;
    }

    /**
     * A complete PNG. {@code rows[y]} are the unfiltered row bytes; row {@code y} is filtered with
     * {@code filters[y % filters.length]} (a value above 4 is written as is, to make a broken file).
     */
    static byte[] png(int width, int height, int bitDepth, int colourType, byte[] palette, byte[][] rows,
                      int[] filters, int interlace) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) bitDepth)
                .put((byte) colourType).put((byte) 0).put((byte) 0).put((byte) interlace);
        out.writeBytes(chunk("IHDR", ihdr.array()));
        out.writeBytes(chunk("tEXt", "Comment\0made by TestPngs".getBytes(StandardCharsets.ISO_8859_1)));
        if (palette != null) {
            out.writeBytes(chunk("PLTE", palette));
        }
        byte[] z = deflate(filtered(width, colourType, bitDepth, rows, filters));
        for (int at = 0; at < z.length; at += 97) { // many small IDAT chunks, split anywhere
            byte[] part = new byte[Math.min(97, z.length - at)];
            System.arraycopy(z, at, part, 0, part.length);
            out.writeBytes(chunk("IDAT", part));
        }
        out.writeBytes(chunk("IEND", new byte[0]));
        return out.toByteArray();
    }

    /** The filtered scanlines (filter byte + row) of an image. */
    static byte[] filtered(int width, int colourType, int bitDepth, byte[][] rows, int[] filters) {
        int bpp = Math.max(1, channels(colourType) * bitDepth / 8);
        int n = rowBytes(width, colourType, bitDepth);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] prev = new byte[n];
        for (int y = 0; y < rows.length; y++) {
            byte[] x = rows[y];
            int type = filters[y % filters.length];
            out.write(type);
            for (int i = 0; i < n; i++) {
                int a = i >= bpp ? x[i - bpp] & 0xff : 0;
                int b = prev[i] & 0xff;
                int c = i >= bpp ? prev[i - bpp] & 0xff : 0;
                int predicted = switch (type) {
                    case 1 -> a;
                    case 2 -> b;
                    case 3 -> (a + b) / 2;
                    case 4 -> paeth(a, b, c);
                    default -> 0;
                };
                out.write((x[i] - predicted) & 0xff);
            }
            prev = x;
        }
        return out.toByteArray();
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a);
        int pb = Math.abs(p - b);
        int pc = Math.abs(p - c);
        if (pa <= pb && pa <= pc) {
            return a;
        }
        return pb <= pc ? b : c;
    }

    static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(9);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) {
            int n = d.deflate(buf);
            out.write(buf, 0, n);
        }
        d.end();
        return out.toByteArray();
    }

    static byte[] chunk(String type, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(12 + data.length);
        b.putInt(data.length).put(type.getBytes(StandardCharsets.US_ASCII)).put(data);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 4, 4 + data.length);
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /** A chunk of a PNG file: where it starts (its length field) and its type. */
    record Chunk(int at, int length, String type) {
        int dataAt() {
            return at + 8;
        }

        int end() {
            return at + 12 + length;
        }
    }

    static List<Chunk> chunks(byte[] png) {
        List<Chunk> list = new ArrayList<>();
        int at = 8;
        while (at + 8 <= png.length) {
            int length = ByteBuffer.wrap(png, at, 4).getInt();
            String type = new String(png, at + 4, 4, StandardCharsets.US_ASCII);
            list.add(new Chunk(at, length, type));
            at += 12 + length;
        }
        return list;
    }

    /** Recomputes the CRC of a chunk after its bytes were edited. */
    static void fixCrc(byte[] png, Chunk c) {
        CRC32 crc = new CRC32();
        crc.update(png, c.at() + 4, 4 + c.length());
        ByteBuffer.wrap(png, c.end() - 4, 4).putInt((int) crc.getValue());
    }
}
