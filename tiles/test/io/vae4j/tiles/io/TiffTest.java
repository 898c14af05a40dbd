package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tiles.io.StreamingTiffWriter.Compression;
import io.vae4j.tiles.io.StreamingTiffWriter.Options;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TiffTest {

    @TempDir
    Path dir;

    private List<Path> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    /** What reading back {@code v} written at {@code bits} per sample must give. */
    private static float[] quantised(float[] v, PixelRange range, int bits) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = bits == 8 ? range.decode(range.encode(v[i]), 255)
                    : range.decode(Quantize.encode16(range, v[i]), 65535);
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Writer -> reader

    @ParameterizedTest(name = "{0}x{1} tile {2}, {3} bits, {4}, predictor {5}")
    @CsvSource({
            "300, 170, 64, 8, NONE, false",
            "300, 170, 64, 8, DEFLATE, false",
            "300, 170, 64, 8, DEFLATE, true",
            "300, 170, 64, 16, NONE, false",
            "300, 170, 64, 16, DEFLATE, true",
            "300, 170, 64, 16, DEFLATE, false",
            "10, 10, 256, 8, DEFLATE, true",
            "10, 10, 256, 16, NONE, false",
            "512, 256, 256, 8, DEFLATE, true",
            "17, 300, 16, 16, DEFLATE, true",
    })
    void roundTrip(int w, int h, int tile, int bits, Compression compression, boolean predictor) throws IOException {
        float[] v = StreamingPngWriterTest.values(3 * w * h, w * 31L + h);
        Options o = Options.DEFAULT.withTileSize(tile).withCompression(compression).withPredictor(predictor);
        for (PixelRange range : PixelRange.values()) {
            Path p = dir.resolve("rt.tif");
            long nans;
            try (StreamingTiffWriter tw = StreamingTiffWriter.open(p, w, h, bits, o)) {
                nans = StreamingPngWriterTest.writeInStrips(tw, v, h, w, range, 7, 1, 100, 3);
            }
            assertEquals(Arrays.stream(boxed(v)).filter(f -> f.isNaN()).count(), nans);
            float[] expected = quantised(v, range, bits);
            assertArrayEquals(expected, PngStripReaderTest.readAll(p, range, 13, 1, 64));
            assertArrayEquals(expected, PngStripReaderTest.readAll(p, range, h));
            checkStructure(p, w, h, tile, bits, compression, predictor);
        }
        assertEquals(List.of(dir.resolve("rt.tif")), leftovers());
    }

    private static Float[] boxed(float[] v) {
        Float[] b = new Float[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = v[i];
        }
        return b;
    }

    /** A minimal independent BigTIFF parse: header, sorted tags, the fields a reader needs. */
    private static void checkStructure(Path p, int w, int h, int tile, int bits, Compression compression,
                                       boolean predictor) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals('I', b.get(0));
        assertEquals('I', b.get(1));
        assertEquals(43, b.getShort(2));
        assertEquals(8, b.getShort(4));
        assertEquals(0, b.getShort(6));
        int ifd = (int) b.getLong(8);
        int n = (int) b.getLong(ifd);
        int prevTag = -1;
        long tiles = (long) ((w + tile - 1) / tile) * ((h + tile - 1) / tile);
        long offsetsAt = -1;
        long countsAt = -1;
        for (int i = 0; i < n; i++) {
            int e = ifd + 8 + 20 * i;
            int tag = b.getShort(e) & 0xffff;
            int type = b.getShort(e + 2);
            long count = b.getLong(e + 4);
            assertTrue(tag > prevTag, "tags ascending");
            prevTag = tag;
            switch (tag) {
                case 256 -> assertEquals(w, b.getInt(e + 12));
                case 257 -> assertEquals(h, b.getInt(e + 12));
                case 258 -> {
                    assertEquals(3, count);
                    assertEquals(bits, b.getShort(e + 12));
                    assertEquals(bits, b.getShort(e + 16));
                }
                case 259 -> assertEquals(compression == Compression.NONE ? 1 : 8, b.getShort(e + 12));
                case 262 -> assertEquals(2, b.getShort(e + 12));
                case 277 -> assertEquals(3, b.getShort(e + 12));
                case 317 -> {
                    assertEquals(Compression.DEFLATE, compression, "Predictor only with deflate");
                    assertEquals(predictor ? 2 : 1, b.getShort(e + 12));
                }
                case 322, 323 -> assertEquals(tile, b.getInt(e + 12));
                case 324 -> {
                    assertEquals(16, type);
                    assertEquals(tiles, count);
                    offsetsAt = count == 1 ? e + 12 : b.getLong(e + 12);
                }
                case 325 -> {
                    assertEquals(tiles, count);
                    countsAt = count == 1 ? e + 12 : b.getLong(e + 12);
                }
                default -> {
                }
            }
        }
        assertEquals(0, b.getLong(ifd + 8 + 20 * n), "one IFD");
        long end = 0;
        for (int t = 0; t < tiles; t++) {
            long off = b.getLong((int) offsetsAt + 8 * t);
            long len = b.getLong((int) countsAt + 8 * t);
            assertTrue(off > 0 && len > 0);
            if (compression == Compression.NONE) {
                assertEquals((long) tile * tile * 3 * bits / 8, len);
            }
            end = Math.max(end, off + len);
        }
        assertEquals(b.capacity(), end, "the last tile ends the file");
    }

    @Test
    void wrongRowCountAndAbortLeaveNothing() throws IOException {
        Path p = dir.resolve("bad.tif");
        StreamingTiffWriter tw = StreamingTiffWriter.open(p, 40, 50, 8, Options.DEFAULT.withTileSize(16));
        StreamingPngWriterTest.writeInStrips(tw, new float[3 * 40 * 20], 20, 40, PixelRange.ZERO_ONE, 20);
        VaeException e = assertThrows(VaeException.class, tw::close);
        assertEquals("cannot write " + p + ": only 20 of 50 rows were written", e.getMessage());
        assertEquals(List.of(), leftovers());

        StreamingTiffWriter more = StreamingTiffWriter.open(p, 40, 50, 16);
        e = assertThrows(VaeException.class, () -> StreamingPngWriterTest.writeInStrips(more,
                new float[3 * 40 * 51], 51, 40, PixelRange.ZERO_ONE, 51));
        assertEquals("cannot write " + p + ": 51 rows given for an image 50 rows high", e.getMessage());
        assertEquals(List.of(), leftovers());

        try (StreamingTiffWriter aborted = StreamingTiffWriter.open(p, 40, 50, 8)) {
            StreamingPngWriterTest.writeInStrips(aborted, new float[3 * 40 * 30], 30, 40, PixelRange.ZERO_ONE, 30);
            aborted.abort();
        }
        assertEquals(List.of(), leftovers());
    }

    @Test
    void optionsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> Options.DEFAULT.withTileSize(100));
        assertThrows(IllegalArgumentException.class, () -> Options.DEFAULT.withLevel(10));
        assertThrows(IllegalArgumentException.class, () -> StreamingTiffWriter.open(dir.resolve("a.tif"), 4, 4, 32));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Classic TIFF written by ImageIO -> reader, compared with Images.read

    private Path imageIoTiff(String name, BufferedImage img, String compression, int tile) throws IOException {
        Path p = dir.resolve(name);
        ImageWriter writer = ImageIO.getImageWritersByFormatName("tiff").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(p.toFile())) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            if (compression != null) {
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionType(compression);
            }
            if (tile > 0) {
                param.setTilingMode(ImageWriteParam.MODE_EXPLICIT);
                param.setTiling(tile, tile, 0, 0);
            }
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
        return p;
    }

    private static BufferedImage rgb(int w, int h, boolean alpha, int transfer, long seed) {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), alpha, false,
                alpha ? Transparency.TRANSLUCENT : Transparency.OPAQUE, transfer);
        BufferedImage img = new BufferedImage(cm, cm.createCompatibleWritableRaster(w, h), false, null);
        WritableRaster r = img.getRaster();
        Random rnd = new Random(seed);
        int max = transfer == DataBuffer.TYPE_BYTE ? 255 : 65535;
        for (int b = 0; b < r.getNumBands(); b++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    r.setSample(x, y, b, rnd.nextInt(3) == 0 ? rnd.nextInt(max + 1) : (x * 5 + y * 3 + b) % max);
                }
            }
        }
        return img;
    }

    @ParameterizedTest(name = "{0} bits, alpha {1}, {2}, tile {3}")
    @CsvSource({
            "8, false, , 0",
            "8, false, Deflate, 0",
            "8, true, ZLib, 0",
            "16, false, , 0",
            "16, false, Deflate, 0",
            "8, false, , 32",
            "8, false, Deflate, 48",
            "16, true, Deflate, 32",
            "16, false, , 16",
    })
    void readsClassicTiffLikeImagesRead(int bits, boolean alpha, String compression, int tile) throws IOException {
        BufferedImage img = rgb(97, 61, alpha, bits == 8 ? DataBuffer.TYPE_BYTE : DataBuffer.TYPE_USHORT, bits);
        Path p = imageIoTiff("classic.tif", img, compression, tile);
        try (ImageStripReader r = ImageStripReader.open(p, PixelRange.ZERO_ONE)) {
            assertEquals(tile > 0, ((TiffStripReader) r).tiled());
        }
        for (PixelRange range : PixelRange.values()) {
            assertArrayEquals(PngStripReaderTest.imagesRead(p, range), PngStripReaderTest.readAll(p, range, 5, 17));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Errors

    private VaeException readFails(Path p) {
        VaeException e = assertThrows(VaeException.class, () -> PngStripReaderTest.readAll(p, PixelRange.ZERO_ONE, 9));
        assertTrue(e.getMessage().startsWith("cannot read image " + p + ": "), e.getMessage());
        return e;
    }

    @Test
    void unsupportedKindsAreNamed() throws IOException {
        BufferedImage grey = new BufferedImage(20, 20, BufferedImage.TYPE_BYTE_GRAY);
        assertTrue(readFails(imageIoTiff("grey.tif", grey, null, 0)).getMessage()
                .contains("its colour model is greyscale (PhotometricInterpretation 1); "
                        + "streaming reads only RGB TIFF"));
        BufferedImage img = rgb(20, 20, false, DataBuffer.TYPE_BYTE, 1);
        assertTrue(readFails(imageIoTiff("lzw.tif", img, "LZW", 0)).getMessage()
                .contains("compression 5 (LZW); streaming reads only uncompressed and deflate TIFF"));
        assertTrue(readFails(imageIoTiff("packbits.tif", img, "PackBits", 0)).getMessage()
                .contains("compression 32773 (PackBits)"));
    }

    @Test
    void truncatedAndCorruptFilesAreErrors() throws IOException {
        int w = 70;
        int h = 40;
        float[] v = StreamingPngWriterTest.values(3 * w * h, 5);
        for (Compression c : Compression.values()) {
            Path p = dir.resolve("full.tif");
            try (StreamingTiffWriter tw = StreamingTiffWriter.open(p, w, h, 8, Options.DEFAULT.withTileSize(32)
                    .withCompression(c))) {
                StreamingPngWriterTest.writeInStrips(tw, v, h, w, PixelRange.ZERO_ONE, 40);
            }
            byte[] full = Files.readAllBytes(p);
            for (int cut : new int[]{3, 12, 20, 100, 400, full.length / 2, full.length - 1}) {
                Path cutFile = dir.resolve("cut.tif");
                Files.write(cutFile, Arrays.copyOf(full, cut));
                String m = readFails(cutFile).getMessage();
                assertTrue(m.contains("truncated") || m.contains("not a TIFF file"), "cut at " + cut + ": " + m);
            }
            // Corrupt the first tile's data.
            int tiles = 3 * 2;
            int firstTile = 16 + 8 + 20 * 17 + 8 + 16 * tiles;
            byte[] bad = full.clone();
            bad[firstTile] ^= 0x55;
            bad[firstTile + 1] ^= 0x55;
            Path badFile = dir.resolve("bad.tif");
            Files.write(badFile, bad);
            if (c == Compression.DEFLATE) {
                String m = readFails(badFile).getMessage();
                assertTrue(m.contains("corrupt deflate data in tile 0"), m);
            } else {
                PngStripReaderTest.readAll(badFile, PixelRange.ZERO_ONE, 9); // raw data cannot be checked
            }
        }
        Path junk = dir.resolve("junk.tif");
        Files.write(junk, new byte[]{'I', 'I', 7, 0, 0, 0, 0, 0});
        assertTrue(readFails(junk).getMessage().contains("not a TIFF file (version 7"));
    }
}
