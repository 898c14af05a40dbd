package io.vae4j.format.image;

import io.vae4j.VaeException;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class ImagesTest {

    /**
     * float32 bits of diffusers' preprocessing of each 8-bit level, computed with numpy:
     * {@code 2 * (np.arange(256, dtype=np.uint8).astype(np.float32) / 255.0) - 1}, all in float32.
     */
    private static final String DIFFUSERS_MINUS_ONE_ONE = ""
            + "bf800000bf7dfdfebf7bfbfcbf79f9fabf77f7f8bf75f5f6bf73f3f4bf71f1f2bf6feff0bf6dedeebf6bebecbf69e9eabf67e7e8bf65e5e6bf63e3e4bf61e1e2"
            + "bf5fdfe0bf5ddddebf5bdbdcbf59d9dabf57d7d8bf55d5d6bf53d3d4bf51d1d2bf4fcfd0bf4dcdcebf4bcbccbf49c9cabf47c7c8bf45c5c6bf43c3c4bf41c1c2"
            + "bf3fbfc0bf3dbdbebf3bbbbcbf39b9babf37b7b8bf35b5b6bf33b3b4bf31b1b2bf2fafb0bf2dadaebf2babacbf29a9aabf27a7a8bf25a5a6bf23a3a4bf21a1a2"
            + "bf1f9fa0bf1d9d9ebf1b9b9cbf19999abf179798bf159596bf139394bf119192bf0f8f90bf0d8d8ebf0b8b8cbf09898abf078788bf058586bf038384bf018182"
            + "befefefebefafafabef6f6f6bef2f2f2beeeeeeebeeaeaeabee6e6e6bee2e2e2bedededebedadadabed6d6d6bed2d2d2becececebecacacabec6c6c6bec2c2c2"
            + "bebebebebebabababeb6b6b6beb2b2b2beaeaeaebeaaaaaabea6a6a6bea2a2a2be9e9e9ebe9a9a9abe969696be929292be8e8e8ebe8a8a8abe868686be828282"
            + "be7cfcfcbe74f4f4be6cececbe64e4e4be5cdcdcbe54d4d4be4cccccbe44c4c4be3cbcbcbe34b4b4be2cacacbe24a4a4be1c9c9cbe149494be0c8c8cbe048484"
            + "bdf8f8f8bde8e8e8bdd8d8d8bdc8c8c8bdb8b8b8bda8a8a8bd989898bd888888bd70f0f0bd50d0d0bd30b0b0bd109090bce0e0e0bca0a0a0bc40c0c0bb808080"
            + "3b8081003c40c1003ca0a0c03ce0e1003d1090a03d30b0c03d50d0e03d70f1003d8888903d9898a03da8a8b03db8b8c03dc8c8d03dd8d8e03de8e8f03df8f900"
            + "3e0484883e0c8c903e1494983e1c9ca03e24a4a83e2cacb03e34b4b83e3cbcc03e44c4c83e4cccd03e54d4d83e5cdce03e64e4e83e6cecf03e74f4f83e7cfd00"
            + "3e8282843e8686883e8a8a8c3e8e8e903e9292943e9696983e9a9a9c3e9e9ea03ea2a2a43ea6a6a83eaaaaac3eaeaeb03eb2b2b43eb6b6b83ebababc3ebebec0"
            + "3ec2c2c43ec6c6c83ecacacc3ececed03ed2d2d43ed6d6d83edadadc3ededee03ee2e2e43ee6e6e83eeaeaec3eeeeef03ef2f2f43ef6f6f83efafafc3efeff00"
            + "3f0181823f0383843f0585863f0787883f09898a3f0b8b8c3f0d8d8e3f0f8f903f1191923f1393943f1595963f1797983f19999a3f1b9b9c3f1d9d9e3f1f9fa0"
            + "3f21a1a23f23a3a43f25a5a63f27a7a83f29a9aa3f2babac3f2dadae3f2fafb03f31b1b23f33b3b43f35b5b63f37b7b83f39b9ba3f3bbbbc3f3dbdbe3f3fbfc0"
            + "3f41c1c23f43c3c43f45c5c63f47c7c83f49c9ca3f4bcbcc3f4dcdce3f4fcfd03f51d1d23f53d3d43f55d5d63f57d7d83f59d9da3f5bdbdc3f5dddde3f5fdfe0"
            + "3f61e1e23f63e3e43f65e5e63f67e7e83f69e9ea3f6bebec3f6dedee3f6feff03f71f1f23f73f3f43f75f5f63f77f7f83f79f9fa3f7bfbfc3f7dfdfe3f800000";

    @TempDir
    Path dir;

    // ---------------------------------------------------------------------------------------------------------
    // Value mapping

    @Test
    void decodeMatchesDiffusersFloat32ArithmeticBitForBit() {
        for (int v = 0; v < 256; v++) {
            int want = Integer.parseUnsignedInt(DIFFUSERS_MINUS_ONE_ONE.substring(v * 8, v * 8 + 8), 16);
            assertEquals(want, Float.floatToRawIntBits(PixelRange.MINUS_ONE_ONE.decode(v, 255)), "level " + v);
            assertEquals((float) v / 255f, PixelRange.ZERO_ONE.decode(v, 255), "level " + v);
        }
        assertEquals(-1f, PixelRange.MINUS_ONE_ONE.decode(0, 65535));
        assertEquals(1f, PixelRange.MINUS_ONE_ONE.decode(65535, 65535));
        assertEquals(1f / 65535f, PixelRange.ZERO_ONE.decode(1, 65535));
    }

    @Test
    void encodeInvertsDecodeForEveryLevel() {
        for (PixelRange range : PixelRange.values()) {
            for (int v = 0; v < 256; v++) {
                assertEquals(v, range.encode(range.decode(v, 255)), range + " level " + v);
            }
        }
    }

    @Test
    void encodeClampsRoundsHalfToEvenAndMapsNaNToZero() {
        PixelRange m = PixelRange.MINUS_ONE_ONE;
        assertEquals(0, m.encode(-1f));
        assertEquals(255, m.encode(1f));
        assertEquals(0, m.encode(-7f));
        assertEquals(255, m.encode(3f));
        assertEquals(128, m.encode(0f)); // 127.5 rounds to the even 128
        assertEquals(0, m.encode(Float.NaN));
        assertEquals(255, m.encode(Float.POSITIVE_INFINITY));
        assertEquals(0, m.encode(Float.NEGATIVE_INFINITY));
        PixelRange z = PixelRange.ZERO_ONE;
        assertEquals(0, z.encode(-0.5f));
        assertEquals(255, z.encode(1.5f));
        assertEquals(0, z.encode(Float.NaN));
        int halves = 0;
        for (int k = 0; k < 255; k++) {
            float x = (k + 0.5f) / 255f;
            if (x * 255f == k + 0.5f) { // an exact tie after float32 scaling, as numpy would see it
                assertEquals(k % 2 == 0 ? k : k + 1, z.encode(x), "tie at " + k + ".5");
                halves++;
            }
        }
        assertTrue(halves > 0, "no exact ties found to test");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Round trips

    @Test
    void everyLevelSurvivesWriteThenReadExactly() {
        for (PixelRange range : PixelRange.values()) {
            float[] values = new float[3 * 16 * 16];
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < 256; i++) {
                    values[c * 256 + i] = range.decode((i + 85 * c) % 256, 255);
                }
            }
            Path file = dir.resolve("levels-" + range + ".png");
            try (Tensor t = Tensor.of(values, 1, 3, 16, 16)) {
                assertEquals(0, Images.writePng(file, t, range, 0));
            }
            try (Tensor back = Images.read(file, range)) {
                assertArrayEquals(new int[] {1, 3, 16, 16}, back.shape());
                assertTrue(back.owned());
                assertEquals(DType.F32, back.dtype());
                assertArrayEquals(values, back.toFloatArray(), range.toString());
            }
        }
    }

    @Test
    void gradientRoundTripIsWithinHalfAStep() throws IOException {
        int h = 37;
        int w = 53; // odd sizes: no accidental reliance on alignment
        float[] values = new float[3 * h * w];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    values[(c * h + y) * w + x] = -1.2f + 2.4f * (x + y * w + c * 7) / (h * w + 14);
                }
            }
        }
        Path file = dir.resolve("gradient.png");
        try (Tensor t = Tensor.of(values, 1, 3, h, w)) {
            Images.writePng(file, t, PixelRange.MINUS_ONE_ONE, 0);
        }
        BufferedImage png = ImageIO.read(file.toFile());
        assertEquals(3, png.getRaster().getNumBands(), "8-bit RGB, no alpha");
        assertEquals(8, png.getColorModel().getComponentSize(0));
        try (Tensor back = Images.read(file, PixelRange.MINUS_ONE_ONE)) {
            float[] got = back.toFloatArray();
            for (int i = 0; i < values.length; i++) {
                float want = Math.max(-1f, Math.min(1f, values[i]));
                assertEquals(want, got[i], 1f / 255f + 1e-6f, "value " + i);
            }
        }
        // Channel order: red is channel 0 of the tensor and the R of the pixel.
        int p = png.getRGB(w - 1, h - 1);
        try (Tensor t = Tensor.of(values, 1, 3, h, w)) {
            int last = h * w - 1;
            assertEquals(PixelRange.MINUS_ONE_ONE.encode(t.get(last)), (p >> 16) & 0xff);
            assertEquals(PixelRange.MINUS_ONE_ONE.encode(t.get(h * w + last)), (p >> 8) & 0xff);
            assertEquals(PixelRange.MINUS_ONE_ONE.encode(t.get(2 * h * w + last)), p & 0xff);
        }
    }

    @Test
    void nanIsWrittenAsZeroAndCounted() throws IOException {
        float[] values = {Float.NaN, 0.5f, Float.NaN, 1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f};
        Path file = dir.resolve("nan.png");
        try (Tensor t = Tensor.of(values, 1, 3, 2, 2)) {
            assertEquals(2, Images.countNaN(t));
            assertEquals(2, Images.writePng(file, t, PixelRange.ZERO_ONE, 0));
        }
        BufferedImage png = ImageIO.read(file.toFile());
        assertEquals(0, (png.getRGB(0, 0) >> 16) & 0xff);
        assertEquals(128, (png.getRGB(1, 0) >> 16) & 0xff);
        assertEquals(0, (png.getRGB(0, 1) >> 16) & 0xff);
        assertEquals(255, (png.getRGB(1, 1) >> 16) & 0xff);
    }

    @Test
    void writesHalfPrecisionTensors() {
        Path file = dir.resolve("f16.png");
        try (Tensor t = Tensor.allocate(DType.F16, 1, 3, 2, 2)) {
            for (int i = 0; i < 12; i++) {
                t.set(i, i / 11f);
            }
            Images.writePng(file, t, PixelRange.ZERO_ONE, 0);
            try (Tensor back = Images.read(file, PixelRange.ZERO_ONE)) {
                for (int i = 0; i < 12; i++) {
                    assertEquals(t.get(i), back.get(i), 0.5f / 255f + 1e-6f);
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Kinds of input image

    @Test
    void grayscaleIsReplicatedWithoutGammaConversion() throws IOException {
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        int[] levels = {0, 1, 64, 128, 200, 255};
        img.getRaster().setPixels(0, 0, 3, 2, levels);
        Path file = write(img, "png", "grey.png");
        try (Tensor t = Images.read(file, PixelRange.ZERO_ONE)) {
            assertArrayEquals(new int[] {1, 3, 2, 3}, t.shape());
            float[] got = t.toFloatArray();
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < 6; i++) {
                    assertEquals(levels[i] / 255f, got[c * 6 + i], "channel " + c + " pixel " + i);
                }
            }
        }
    }

    @Test
    void alphaIsDroppedNotComposited() throws IOException {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 0x00c86432); // fully transparent, colour (200, 100, 50)
        img.setRGB(1, 0, 0x800a141e); // half transparent, colour (10, 20, 30)
        Path file = write(img, "png", "rgba.png");
        assertEquals(4, ImageIO.read(file.toFile()).getRaster().getNumBands(), "the test file keeps its alpha");
        try (Tensor t = Images.read(file, PixelRange.MINUS_ONE_ONE)) {
            assertArrayEquals(new int[] {1, 3, 1, 2}, t.shape());
            int[] want = {200, 10, 100, 20, 50, 30};
            float[] got = t.toFloatArray();
            for (int i = 0; i < 6; i++) {
                assertEquals(PixelRange.MINUS_ONE_ONE.decode(want[i], 255), got[i], "value " + i);
            }
        }
    }

    @Test
    void sixteenBitGreyMapsOverFullScale() throws IOException {
        BufferedImage img = new BufferedImage(4, 1, BufferedImage.TYPE_USHORT_GRAY);
        int[] levels = {0, 1, 32768, 65535};
        img.getRaster().setPixels(0, 0, 4, 1, levels);
        Path file = write(img, "png", "grey16.png");
        assertEquals(16, ImageIO.read(file.toFile()).getColorModel().getComponentSize(0), "a 16-bit file");
        try (Tensor t = Images.read(file, PixelRange.ZERO_ONE)) {
            float[] got = t.toFloatArray();
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < 4; i++) {
                    assertEquals((float) levels[i] / 65535f, got[c * 4 + i]);
                }
            }
        }
    }

    @Test
    void sixteenBitRgbMapsOverFullScale() throws IOException {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster raster = cm.createCompatibleWritableRaster(2, 1);
        int[] rgb = {65535, 1000, 0, 1, 40000, 65534}; // pixel-interleaved
        raster.setPixels(0, 0, 2, 1, rgb);
        Path file = write(new BufferedImage(cm, raster, false, null), "png", "rgb16.png");
        assertEquals(16, ImageIO.read(file.toFile()).getColorModel().getComponentSize(0), "a 16-bit file");
        try (Tensor t = Images.read(file, PixelRange.MINUS_ONE_ONE)) {
            int[] planar = {65535, 1, 1000, 40000, 0, 65534};
            float[] got = t.toFloatArray();
            for (int i = 0; i < 6; i++) {
                assertEquals(PixelRange.MINUS_ONE_ONE.decode(planar[i], 65535), got[i], "value " + i);
            }
            assertEquals(1f, got[0]);
            assertEquals(-1f, got[4]);
        }
    }

    @Test
    void paletteAndOneBitImagesGoThroughTheirColourModel() throws IOException {
        byte[] r = {(byte) 255, 0, 10};
        byte[] g = {0, (byte) 255, 20};
        byte[] b = {0, 0, 30};
        BufferedImage pal = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(2, 3, r, g, b));
        pal.getRaster().setPixels(0, 0, 3, 1, new int[] {2, 0, 1});
        Path file = write(pal, "png", "palette.png");
        try (Tensor t = Images.read(file, PixelRange.ZERO_ONE)) {
            int[] want = {10, 255, 0, 20, 0, 255, 30, 0, 0};
            float[] got = t.toFloatArray();
            for (int i = 0; i < 9; i++) {
                assertEquals(want[i] / 255f, got[i], "value " + i);
            }
        }
        BufferedImage bits = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_BINARY);
        bits.getRaster().setPixels(0, 0, 2, 1, new int[] {1, 0});
        file = write(bits, "png", "onebit.png");
        try (Tensor t = Images.read(file, PixelRange.MINUS_ONE_ONE)) {
            assertArrayEquals(new float[] {1, -1, 1, -1, 1, -1}, t.toFloatArray());
        }
    }

    @Test
    void readsJpeg() throws IOException {
        int w = 32;
        int h = 24;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, x < w / 2 ? 0xc04020 : 0x2080e0); // two flat blocks
            }
        }
        Path file = write(img, "jpg", "photo.jpg");
        BufferedImage decoded = ImageIO.read(file.toFile());
        try (Tensor t = Images.read(file, PixelRange.ZERO_ONE)) {
            assertArrayEquals(new int[] {1, 3, h, w}, t.shape());
            float[] got = t.toFloatArray();
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int p = decoded.getRGB(x, y);
                    int i = y * w + x;
                    assertEquals(((p >> 16) & 0xff) / 255f, got[i]);
                    assertEquals(((p >> 8) & 0xff) / 255f, got[h * w + i]);
                    assertEquals((p & 0xff) / 255f, got[2 * h * w + i]);
                }
            }
            // Well inside the left block the colour survives JPEG nearly unchanged.
            int i = 12 * w + 4;
            assertEquals(0xc0 / 255f, got[i], 6 / 255f);
            assertEquals(0x40 / 255f, got[h * w + i], 6 / 255f);
            assertEquals(0x20 / 255f, got[2 * h * w + i], 6 / 255f);
        }
    }

    @Test
    void readsLargeImagesOfAnySize() throws IOException {
        BufferedImage img = new BufferedImage(1000, 3, BufferedImage.TYPE_3BYTE_BGR);
        img.setRGB(999, 2, 0x0000ff);
        Path file = write(img, "bmp", "wide.bmp");
        try (Tensor t = Images.read(file, PixelRange.ZERO_ONE)) {
            assertArrayEquals(new int[] {1, 3, 3, 1000}, t.shape());
            assertEquals(1f, t.get(2L * 3000 + 2999));
            assertEquals(0f, t.get(2999));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Bad input files

    @Test
    void randomBytesAreNotAnImage() throws IOException {
        byte[] junk = new byte[4096];
        new Random(7).nextBytes(junk);
        Path file = dir.resolve("junk.png");
        Files.write(file, junk);
        VaeException e = assertThrows(VaeException.class, () -> Images.read(file, PixelRange.MINUS_ONE_ONE));
        assertTrue(e.getMessage().startsWith("cannot read image " + file + ": "), e.getMessage());
    }

    @Test
    void corruptPngHeaderIsAnError() throws IOException {
        Path good = write(noise(16, 16), "png", "good.png");
        byte[] bytes = Files.readAllBytes(good);
        for (int i = 16; i < 29; i++) {
            bytes[i] = (byte) 0xff; // IHDR: absurd size and depth, bad checksum
        }
        Path file = dir.resolve("badheader.png");
        Files.write(file, bytes);
        VaeException e = assertThrows(VaeException.class, () -> Images.read(file, PixelRange.MINUS_ONE_ONE));
        assertTrue(e.getMessage().startsWith("cannot read image " + file + ": "), e.getMessage());
    }

    @Test
    void truncatedPngIsAnError() throws IOException {
        byte[] bytes = Files.readAllBytes(write(noise(64, 64), "png", "full.png"));
        Path file = dir.resolve("truncated.png");
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        VaeException e = assertThrows(VaeException.class, () -> Images.read(file, PixelRange.MINUS_ONE_ONE));
        assertTrue(e.getMessage().startsWith("cannot read image " + file + ": "), e.getMessage());
    }

    @Test
    void truncatedJpegIsAnError() throws IOException {
        byte[] bytes = Files.readAllBytes(write(noise(64, 64), "jpg", "full.jpg"));
        Path file = dir.resolve("truncated.jpg");
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        VaeException e = assertThrows(VaeException.class, () -> Images.read(file, PixelRange.MINUS_ONE_ONE));
        assertTrue(e.getMessage().startsWith("cannot read image " + file + ": "), e.getMessage());
    }

    @Test
    void missingFileOrDirectoryIsAnError() {
        Path missing = dir.resolve("nope.png");
        VaeException e = assertThrows(VaeException.class, () -> Images.read(missing, PixelRange.ZERO_ONE));
        assertEquals("cannot read image " + missing + ": no such file", e.getMessage());
        e = assertThrows(VaeException.class, () -> Images.read(dir, PixelRange.ZERO_ONE));
        assertEquals("cannot read image " + dir + ": it is a directory", e.getMessage());
    }

    // ---------------------------------------------------------------------------------------------------------
    // Writing: failures and atomicity

    @Test
    void missingDirectoryIsAnErrorAndLeavesNothing() throws IOException {
        Path target = dir.resolve("no-such-dir").resolve("out.png");
        try (Tensor t = Tensor.allocate(1, 3, 4, 4)) {
            VaeException e = assertThrows(VaeException.class,
                    () -> Images.writePng(target, t, PixelRange.MINUS_ONE_ONE, 0));
            assertTrue(e.getMessage().startsWith("cannot write " + target + ": "), e.getMessage());
            e = assertThrows(VaeException.class, () -> Images.writePngs(target, t, PixelRange.MINUS_ONE_ONE));
            assertTrue(e.getMessage().contains(target.toString()), e.getMessage());
        }
        assertFalse(Files.exists(target.getParent()));
        assertEquals(List.of(), list(dir));
    }

    @Test
    void readOnlyDirectoryIsAnErrorAndLeavesNothing() throws IOException {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(ro), "running with rights that ignore directory permissions");
            Path target = ro.resolve("out.png");
            try (Tensor t = Tensor.allocate(1, 3, 4, 4)) {
                VaeException e = assertThrows(VaeException.class,
                        () -> Images.writePng(target, t, PixelRange.MINUS_ONE_ONE, 0));
                assertEquals("cannot write " + target + ": permission denied", e.getMessage());
            }
            assertEquals(List.of(), list(ro));
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void directoryAsTargetIsAnErrorAndLeavesNothing() throws IOException {
        Path target = Files.createDirectory(dir.resolve("taken.png"));
        try (Tensor t = Tensor.allocate(1, 3, 4, 4)) {
            VaeException e = assertThrows(VaeException.class,
                    () -> Images.writePng(target, t, PixelRange.MINUS_ONE_ONE, 0));
            assertEquals("cannot write " + target + ": it is a directory", e.getMessage());
        }
        assertEquals(List.of("taken.png"), list(dir));
        assertEquals(List.of(), list(target));
    }

    @Test
    void writeReplacesAnExistingFileAndLeavesNoTemporaries() throws IOException {
        Path target = dir.resolve("img.png");
        Files.writeString(target, "old contents");
        try (Tensor t = Tensor.of(new float[] {1, 1, 1}, 1, 3, 1, 1)) {
            Images.writePng(target, t, PixelRange.MINUS_ONE_ONE, 0);
        }
        assertEquals(0xffffff, ImageIO.read(target.toFile()).getRGB(0, 0) & 0xffffff);
        assertEquals(List.of("img.png"), list(dir));
    }

    @Test
    void rejectsTensorsThatAreNotRgbBatches() {
        Path target = dir.resolve("x.png");
        try (Tensor latents = Tensor.allocate(1, 4, 8, 8); Tensor flat = Tensor.allocate(3, 8, 8);
             Tensor ok = Tensor.allocate(2, 3, 2, 2)) {
            VaeException e = assertThrows(VaeException.class,
                    () -> Images.writePng(target, latents, PixelRange.MINUS_ONE_ONE, 0));
            assertTrue(e.getMessage().contains("[1, 4, 8, 8]"), e.getMessage());
            assertThrows(VaeException.class, () -> Images.writePngs(target, flat, PixelRange.MINUS_ONE_ONE));
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Images.writePng(target, ok, PixelRange.MINUS_ONE_ONE, 2));
        }
        assertFalse(Files.exists(target));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Batches

    @Test
    void batchOfTwoGetsIndexedNames() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("a"));
        Path out = sub.resolve("img.png");
        float[] values = new float[2 * 3 * 2 * 2];
        java.util.Arrays.fill(values, 0, 12, -1f); // image 0 black
        java.util.Arrays.fill(values, 12, 24, 1f); // image 1 white
        try (Tensor batch = Tensor.of(values, 2, 3, 2, 2)) {
            List<Path> written = Images.writePngs(out, batch, PixelRange.MINUS_ONE_ONE);
            assertEquals(List.of(sub.resolve("img.0.png"), sub.resolve("img.1.png")), written);
        }
        assertEquals(List.of("img.0.png", "img.1.png"), list(sub));
        assertEquals(0x000000, ImageIO.read(sub.resolve("img.0.png").toFile()).getRGB(1, 1) & 0xffffff);
        assertEquals(0xffffff, ImageIO.read(sub.resolve("img.1.png").toFile()).getRGB(1, 1) & 0xffffff);
    }

    @Test
    void batchOfOneWritesTheNamedFile() throws IOException {
        Path out = dir.resolve("single.png");
        try (Tensor batch = Tensor.allocate(1, 3, 2, 2)) {
            assertEquals(List.of(out), Images.writePngs(out, batch, PixelRange.MINUS_ONE_ONE));
        }
        assertEquals(List.of("single.png"), list(dir));
    }

    @Test
    void batchPathPutsTheIndexBeforeTheExtension() {
        assertEquals(Path.of("a/img.0.png"), Images.batchPath(Path.of("a/img.png"), 0));
        assertEquals(Path.of("img.12.png"), Images.batchPath(Path.of("img.png"), 12));
        assertEquals(Path.of("x.y/img.3"), Images.batchPath(Path.of("x.y/img"), 3));
        assertEquals(Path.of("out.tar.1.png"), Images.batchPath(Path.of("out.tar.png"), 1));
        assertEquals(Path.of(".hidden.1"), Images.batchPath(Path.of(".hidden"), 1));
    }

    // ---------------------------------------------------------------------------------------------------------

    private Path write(BufferedImage img, String format, String name) throws IOException {
        Path file = dir.resolve(name);
        assertTrue(ImageIO.write(img, format, file.toFile()), "no ImageIO writer for " + format);
        return file;
    }

    private static BufferedImage noise(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        Random rnd = new Random(42);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rnd.nextInt(1 << 24));
            }
        }
        return img;
    }

    private static List<String> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
