package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.ImageIO;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PngStripReaderTest {

    @TempDir
    Path dir;

    /** Reads the whole file through the strip reader in strips of the given sizes (cycled). */
    static float[] readAll(Path file, PixelRange range, int... strips) {
        try (ImageStripReader r = ImageStripReader.open(file, range)) {
            float[] all = new float[3 * r.height() * r.width()];
            int plane = r.height() * r.width();
            int y = 0;
            for (int i = 0; y < r.height(); i++) {
                int n = Math.min(strips[i % strips.length], r.height() - y);
                try (Tensor t = r.readRows(n)) {
                    float[] s = t.toFloatArray();
                    for (int c = 0; c < 3; c++) {
                        System.arraycopy(s, c * n * r.width(), all, c * plane + y * r.width(), n * r.width());
                    }
                }
                y += n;
            }
            assertEquals(0, r.rowsLeft());
            return all;
        }
    }

    static float[] imagesRead(Path file, PixelRange range) {
        try (Tensor t = Images.read(file, range)) {
            return t.toFloatArray();
        }
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Files written by ImageIO

    @Test
    void readsWhatImageIoWritesLikeImagesRead() throws IOException {
        Random rnd = new Random(7);
        int w = 37;
        int h = 23;
        List<BufferedImage> images = List.of(
                filled(new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY), rnd),
                filled(new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY), rnd),
                filled(new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR), rnd),
                filled(new BufferedImage(w, h, BufferedImage.TYPE_4BYTE_ABGR), rnd),
                filled(new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED), rnd),
                filled(new BufferedImage(w, h, BufferedImage.TYPE_BYTE_BINARY), rnd),
                filled(palette4(w, h), rnd),
                filled(component(w, h, ColorSpace.CS_sRGB, false, DataBuffer.TYPE_USHORT), rnd),
                filled(component(w, h, ColorSpace.CS_sRGB, true, DataBuffer.TYPE_USHORT), rnd),
                filled(component(w, h, ColorSpace.CS_GRAY, true, DataBuffer.TYPE_BYTE), rnd),
                filled(component(w, h, ColorSpace.CS_GRAY, true, DataBuffer.TYPE_USHORT), rnd));
        int i = 0;
        for (BufferedImage img : images) {
            Path p = dir.resolve("imageio" + i++ + ".png");
            assertTrue(ImageIO.write(img, "png", p.toFile()), "ImageIO wrote " + img);
            for (PixelRange range : PixelRange.values()) {
                float[] expected = imagesRead(p, range);
                assertArrayEquals(expected, readAll(p, range, 5, 1, 9), "image type " + img.getType() + " "
                        + img.getColorModel() + " " + range);
            }
        }
    }

    private static BufferedImage filled(BufferedImage img, Random rnd) {
        WritableRaster r = img.getRaster();
        for (int b = 0; b < r.getNumBands(); b++) {
            int max = (1 << r.getSampleModel().getSampleSize(b)) - 1;
            for (int y = 0; y < img.getHeight(); y++) {
                for (int x = 0; x < img.getWidth(); x++) {
                    int v = (x * 7 + y * 13 + b * 31) % (max + 1);
                    r.setSample(x, y, b, rnd.nextInt(4) == 0 ? rnd.nextInt(max + 1) : v);
                }
            }
        }
        return img;
    }

    private static BufferedImage palette4(int w, int h) {
        byte[] rr = new byte[16];
        byte[] gg = new byte[16];
        byte[] bb = new byte[16];
        for (int i = 0; i < 16; i++) {
            rr[i] = (byte) (i * 17);
            gg[i] = (byte) (255 - i * 13);
            bb[i] = (byte) (i * 71);
        }
        return new BufferedImage(w, h, BufferedImage.TYPE_BYTE_BINARY, new IndexColorModel(4, 16, rr, gg, bb));
    }

    private static BufferedImage component(int w, int h, int space, boolean alpha, int transfer) {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(space), alpha, false,
                alpha ? Transparency.TRANSLUCENT : Transparency.OPAQUE, transfer);
        return new BufferedImage(cm, cm.createCompatibleWritableRaster(w, h), false, null);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Hand-made files: every colour type, bit depth and filter

    @ParameterizedTest(name = "colour type {0}, {1} bits")
    @CsvSource({"0,1", "0,2", "0,4", "0,8", "0,16", "2,8", "2,16", "3,1", "3,2", "3,4", "3,8", "4,8", "4,16",
            "6,8", "6,16"})
    void everyFilterTypeOfEveryFormat(int colourType, int bitDepth) throws IOException {
        Random rnd = new Random(colourType * 100 + bitDepth);
        int w = 13;
        int h = 11;
        int n = TestPngs.rowBytes(w, colourType, bitDepth);
        byte[][] rows = new byte[h][n];
        for (byte[] row : rows) {
            rnd.nextBytes(row);
        }
        byte[] palette = null;
        if (colourType == 3) {
            palette = new byte[3 << bitDepth]; // every index is valid
            rnd.nextBytes(palette);
        }
        // Each row uses the next filter: 0..4 twice, then one more.
        byte[] png = TestPngs.png(w, h, bitDepth, colourType, palette, rows, new int[]{0, 1, 2, 3, 4}, 0);
        Path p = write("ct" + colourType + "_" + bitDepth + ".png", png);
        for (PixelRange range : PixelRange.values()) {
            float[] expected = imagesRead(p, range);
            assertArrayEquals(expected, readAll(p, range, 2, 3), "colour type " + colourType + " depth " + bitDepth);
            assertArrayEquals(expected, readAll(p, range, 11), "in one strip");
        }
        // And the values themselves, independently of ImageIO, for the plain RGB 8-bit case.
        if (colourType == 2 && bitDepth == 8) {
            float[] got = readAll(p, PixelRange.ZERO_ONE, 4);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < 3; c++) {
                        assertEquals((rows[y][3 * x + c] & 0xff) / 255f, got[c * h * w + y * w + x]);
                    }
                }
            }
        }
    }

    @Test
    void eachFilterAloneOnAWideImage() throws IOException {
        Random rnd = new Random(3);
        int w = 301;
        int h = 9;
        byte[][] rows = new byte[h][w * 6];
        for (byte[] row : rows) {
            rnd.nextBytes(row);
        }
        for (int f = 0; f <= 4; f++) {
            Path p = write("filter" + f + ".png", TestPngs.png(w, h, 16, 2, null, rows, new int[]{f}, 0));
            float[] got = readAll(p, PixelRange.ZERO_ONE, 4);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < 3; c++) {
                        int v = ((rows[y][6 * x + 2 * c] & 0xff) << 8) | (rows[y][6 * x + 2 * c + 1] & 0xff);
                        assertEquals(v / 65535f, got[c * h * w + y * w + x], "filter " + f);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Errors

    private byte[] smallRgb() {
        Random rnd = new Random(11);
        byte[][] rows = new byte[20][3 * 16];
        for (byte[] row : rows) {
            rnd.nextBytes(row);
        }
        return TestPngs.png(16, 20, 8, 2, null, rows, new int[]{0, 1, 2, 3, 4}, 0);
    }

    private VaeException readFails(String name, byte[] bytes) throws IOException {
        Path p = write(name, bytes);
        VaeException e = assertThrows(VaeException.class, () -> readAll(p, PixelRange.ZERO_ONE, 7));
        assertTrue(e.getMessage().startsWith("cannot read image " + p + ": "), e.getMessage());
        return e;
    }

    @Test
    void interlacedIsRefusedWithAHint() throws IOException {
        byte[][] rows = new byte[4][12];
        VaeException e = readFails("interlaced.png", TestPngs.png(4, 4, 8, 2, null, rows, new int[]{0}, 1));
        assertTrue(e.getMessage().endsWith("interlaced PNG not supported for streaming; re-save without interlace"),
                e.getMessage());
    }

    @Test
    void truncatedAnywhereIsAnError() throws IOException {
        byte[] png = smallRgb();
        for (int cut = 1; cut < png.length; cut += (cut < 64 ? 1 : 7)) {
            VaeException e = readFails("cut.png", Arrays.copyOf(png, cut));
            String m = e.getMessage();
            assertTrue(m.contains("truncated") || m.contains("bad signature") || m.contains("not a PNG"),
                    "cut at " + cut + ": " + m);
        }
        readFails("cut.png", Arrays.copyOf(png, png.length - 1));
    }

    @Test
    void crcMismatchIsAnError() throws IOException {
        byte[] png = smallRgb();
        for (String type : List.of("IHDR", "tEXt", "IDAT", "IEND")) {
            byte[] bad = png.clone();
            TestPngs.Chunk c = TestPngs.chunks(bad).stream().filter(k -> k.type().equals(type)).reduce((a, b) -> b)
                    .orElseThrow();
            bad[c.end() - 1] ^= 1;
            VaeException e = readFails("crc.png", bad);
            assertTrue(e.getMessage().contains("CRC mismatch in the " + type + " chunk"), e.getMessage());
        }
    }

    @Test
    void badChunkLengthIsAnError() throws IOException {
        byte[] png = smallRgb();
        TestPngs.Chunk idat = TestPngs.chunks(png).stream().filter(k -> k.type().equals("IDAT")).findFirst()
                .orElseThrow();
        byte[] bad = png.clone();
        ByteBuffer.wrap(bad, idat.at(), 4).putInt(0x80000000);
        assertTrue(readFails("len.png", bad).getMessage().contains("bad chunk length 2147483648"));
        bad = png.clone();
        ByteBuffer.wrap(bad, 8, 4).putInt(12); // IHDR must be 13 bytes
        assertTrue(readFails("len.png", bad).getMessage().contains("bad IHDR chunk length 12"));
    }

    @Test
    void headerProblemsAreErrors() throws IOException {
        byte[] png = smallRgb();
        // Missing IHDR: drop it.
        TestPngs.Chunk ihdr = TestPngs.chunks(png).get(0);
        byte[] noIhdr = new byte[png.length - (ihdr.end() - 8)];
        System.arraycopy(png, 0, noIhdr, 0, 8);
        System.arraycopy(png, ihdr.end(), noIhdr, 8, png.length - ihdr.end());
        assertTrue(readFails("noihdr.png", noIhdr).getMessage()
                .contains("missing IHDR chunk (the first chunk is tEXt)"));
        // Bad signature.
        byte[] sig = png.clone();
        sig[1] = 'X';
        assertTrue(readFails("sig.png", sig).getMessage().contains("not a PNG or TIFF file"));
        // Invalid colour type / depth pair.
        byte[] depth = png.clone();
        depth[8 + 8 + 8] = 4; // bit depth 4 with colour type 2
        TestPngs.fixCrc(depth, ihdr);
        assertTrue(readFails("depth.png", depth).getMessage().contains("bad IHDR: colour type 2 with bit depth 4"));
        // Zero width.
        byte[] zero = png.clone();
        ByteBuffer.wrap(zero, 16, 4).putInt(0);
        TestPngs.fixCrc(zero, ihdr);
        assertTrue(readFails("zero.png", zero).getMessage().contains("bad IHDR: image size 0x20"));
        // Unknown critical chunk.
        byte[] crit = new byte[png.length + 12];
        System.arraycopy(png, 0, crit, 0, ihdr.end());
        System.arraycopy(TestPngs.chunk("ZZZZ", new byte[0]), 0, crit, ihdr.end(), 12);
        System.arraycopy(png, ihdr.end(), crit, ihdr.end() + 12, png.length - ihdr.end());
        assertTrue(readFails("crit.png", crit).getMessage().contains("unknown critical chunk ZZZZ"));
        // Palette image without PLTE.
        byte[][] rows = new byte[2][2];
        assertTrue(readFails("noplte.png", TestPngs.png(2, 2, 8, 3, null, rows, new int[]{0}, 0)).getMessage()
                .contains("palette image without a PLTE chunk"));
    }

    @Test
    void dataProblemsAreErrors() throws IOException {
        byte[][] rows = new byte[6][9];
        // Filter type 5 does not exist.
        assertTrue(readFails("filter.png", TestPngs.png(3, 6, 8, 2, null, rows, new int[]{0, 5}, 0)).getMessage()
                .contains("bad filter type 5 in row 1"));
        // Palette index beyond the palette.
        byte[][] idx = {{0, 1, 2}, {3, 0, 0}};
        assertTrue(readFails("index.png", TestPngs.png(3, 2, 8, 3, new byte[9], idx, new int[]{0}, 0)).getMessage()
                .contains("palette index 3 in row 1 is outside the 3-entry palette"));
        // Too little image data (a valid zlib stream of 3 rows for a 6-row image).
        byte[] short3 = TestPngs.png(3, 3, 8, 2, null, new byte[3][9], new int[]{0}, 0);
        ByteBuffer.wrap(short3, 20, 4).putInt(6);
        TestPngs.fixCrc(short3, TestPngs.chunks(short3).get(0));
        assertTrue(readFails("short.png", short3).getMessage().contains("the image data ends after 3 of 6 rows"));
        // Corrupt zlib data with valid CRCs.
        byte[] png = smallRgb();
        TestPngs.Chunk idat = TestPngs.chunks(png).stream().filter(k -> k.type().equals("IDAT")).findFirst()
                .orElseThrow();
        png[idat.dataAt()] = 0x7f; // not a zlib header
        TestPngs.fixCrc(png, idat);
        assertTrue(readFails("zlib.png", png).getMessage().contains("corrupt image data (zlib"));
        // No IEND.
        byte[] ok = smallRgb();
        TestPngs.Chunk iend = TestPngs.chunks(ok).getLast();
        assertTrue(readFails("noiend.png", Arrays.copyOf(ok, iend.at())).getMessage().contains("truncated"));
    }

    @Test
    void readingPastTheEndIsRefused() throws IOException {
        Path p = write("ok.png", smallRgb());
        try (ImageStripReader r = ImageStripReader.open(p, PixelRange.ZERO_ONE)) {
            assertEquals(16, r.width());
            assertEquals(20, r.height());
            r.readRows(15).close();
            assertThrows(IllegalArgumentException.class, () -> r.readRows(6));
            r.readRows(5).close();
            assertEquals(0, r.rowsLeft());
        }
    }
}
