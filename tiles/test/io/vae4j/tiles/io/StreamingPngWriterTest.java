package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.StreamingPngWriter.Filter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamingPngWriterTest {

    @TempDir
    Path dir;

    /** Values in and beyond [-1, 1], exact pixel levels, and NaN and infinities. */
    static float[] values(int n, long seed) {
        Random rnd = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = switch (rnd.nextInt(20)) {
                case 0 -> Float.NaN;
                case 1 -> rnd.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 2 -> 2f * (rnd.nextInt(256) / 255f) - 1f;
                default -> rnd.nextFloat() * 2.4f - 1.2f;
            };
        }
        return v;
    }

    /** Writes {@code [1,3,h,w]} values strip by strip, in strips of the given heights (cycled). */
    static long writeInStrips(ImageStripWriter w, float[] all, int h, int width, PixelRange range, int... strips) {
        long nans = 0;
        int y = 0;
        for (int i = 0; y < h; i++) {
            int n = Math.min(strips[i % strips.length], h - y);
            float[] s = new float[3 * n * width];
            for (int c = 0; c < 3; c++) {
                System.arraycopy(all, c * h * width + y * width, s, c * n * width, n * width);
            }
            try (Tensor t = Tensor.of(s, 1, 3, n, width)) {
                nans += w.writeRows(t, range);
            }
            y += n;
        }
        return nans;
    }

    private List<Path> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void eightBitMatchesImagesWritePngPixelForPixel() throws IOException {
        int w = 61;
        int h = 37;
        float[] v = values(3 * w * h, 1);
        for (PixelRange range : PixelRange.values()) {
            Path ours = dir.resolve("ours.png");
            Path theirs = dir.resolve("theirs.png");
            long nans;
            try (StreamingPngWriter pw = StreamingPngWriter.open(ours, w, h, 8)) {
                nans = writeInStrips(pw, v, h, w, range, 7, 1, 13);
            }
            try (Tensor t = Tensor.of(v, 1, 3, h, w)) {
                assertEquals(Images.writePng(theirs, t, range, 0), nans);
            }
            BufferedImage a = ImageIO.read(ours.toFile());
            BufferedImage b = ImageIO.read(theirs.toFile());
            assertEquals(w, a.getWidth());
            assertEquals(h, a.getHeight());
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    assertEquals(b.getRGB(x, y), a.getRGB(x, y), "pixel " + x + "," + y);
                    for (int c = 0; c < 3; c++) {
                        assertEquals(range.encode(v[c * h * w + y * w + x]), a.getRaster().getSample(x, y, c));
                    }
                }
            }
            // And back through the strip reader.
            assertArrayEquals(PngStripReaderTest.imagesRead(ours, range),
                    PngStripReaderTest.readAll(ours, range, 4, 9));
        }
        assertEquals(List.of(dir.resolve("ours.png"), dir.resolve("theirs.png")),
                leftovers().stream().sorted().toList());
    }

    @Test
    void sixteenBitRoundTrip() throws IOException {
        int w = 45;
        int h = 29;
        float[] v = values(3 * w * h, 2);
        for (PixelRange range : PixelRange.values()) {
            Path p = dir.resolve("16.png");
            try (StreamingPngWriter pw = StreamingPngWriter.open(p, w, h, 16)) {
                writeInStrips(pw, v, h, w, range, 3, 10);
            }
            Raster r = ImageIO.read(p.toFile()).getRaster();
            assertEquals(16, r.getSampleModel().getSampleSize(0));
            float[] back = PngStripReaderTest.readAll(p, range, 5);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < 3; c++) {
                        int i = c * h * w + y * w + x;
                        int expected = Quantize.encode16(range, v[i]);
                        assertEquals(expected, r.getSample(x, y, c), "pixel " + x + "," + y);
                        assertEquals(range.decode(expected, 65535), back[i]);
                    }
                }
            }
            assertArrayEquals(PngStripReaderTest.imagesRead(p, range), back);
        }
    }

    @Test
    void sixteenBitQuantisation() {
        assertEquals(0, Quantize.encode16(PixelRange.ZERO_ONE, Float.NaN));
        assertEquals(0, Quantize.encode16(PixelRange.ZERO_ONE, -0.5f));
        assertEquals(65535, Quantize.encode16(PixelRange.ZERO_ONE, 1f));
        assertEquals(65535, Quantize.encode16(PixelRange.MINUS_ONE_ONE, 7f));
        assertEquals(32768, Quantize.encode16(PixelRange.MINUS_ONE_ONE, 0f)); // 32767.5 rounds to even
        for (int v = 0; v < 65536; v++) {
            assertEquals(v, Quantize.encode16(PixelRange.ZERO_ONE, PixelRange.ZERO_ONE.decode(v, 65535)));
        }
    }

    @Test
    void everyFilterAndLevelGivesTheSamePixels() throws IOException {
        int w = 33;
        int h = 17;
        float[] v = values(3 * w * h, 3);
        float[] expected = null;
        for (int depth : new int[]{8, 16}) {
            for (Filter f : Filter.values()) {
                for (int level : new int[]{0, 1, 9}) {
                    Path p = dir.resolve("f.png");
                    try (StreamingPngWriter pw = StreamingPngWriter.open(p, w, h, depth, level, f)) {
                        writeInStrips(pw, v, h, w, PixelRange.MINUS_ONE_ONE, 5);
                    }
                    float[] got = PngStripReaderTest.imagesRead(p, PixelRange.MINUS_ONE_ONE);
                    if (depth == 8 && expected == null) {
                        expected = got;
                    }
                    if (depth == 8) {
                        assertArrayEquals(expected, got, f + " level " + level);
                    }
                    assertArrayEquals(got, PngStripReaderTest.readAll(p, PixelRange.MINUS_ONE_ONE, 6));
                }
            }
        }
    }

    @Test
    void tooFewRowsLeavesNoFile() throws IOException {
        Path p = dir.resolve("few.png");
        StreamingPngWriter pw = StreamingPngWriter.open(p, 8, 10, 8);
        writeInStrips(pw, new float[3 * 8 * 9], 9, 8, PixelRange.ZERO_ONE, 4);
        assertEquals(1, leftovers().size(), "the temporary file exists while writing");
        VaeException e = assertThrows(VaeException.class, pw::close);
        assertEquals("cannot write " + p + ": only 9 of 10 rows were written", e.getMessage());
        assertEquals(List.of(), leftovers());
        pw.close(); // closing again is harmless
        pw.abort();
    }

    @Test
    void tooManyRowsLeavesNoFile() throws IOException {
        Path p = dir.resolve("many.png");
        Files.writeString(p, "old content");
        StreamingPngWriter pw = StreamingPngWriter.open(p, 8, 10, 16);
        writeInStrips(pw, new float[3 * 8 * 6], 6, 8, PixelRange.ZERO_ONE, 6);
        VaeException e = assertThrows(VaeException.class,
                () -> writeInStrips(pw, new float[3 * 8 * 5], 5, 8, PixelRange.ZERO_ONE, 5));
        assertEquals("cannot write " + p + ": 11 rows given for an image 10 rows high", e.getMessage());
        assertEquals(List.of(p), leftovers());
        assertEquals("old content", Files.readString(p), "the target is untouched");
        assertThrows(IllegalStateException.class,
                () -> writeInStrips(pw, new float[3 * 8], 1, 8, PixelRange.ZERO_ONE, 1));
        pw.close(); // already aborted: nothing to do
        assertEquals(List.of(p), leftovers());
    }

    @Test
    void abortLeavesNothing() throws IOException {
        Path p = dir.resolve("aborted.png");
        try (StreamingPngWriter pw = StreamingPngWriter.open(p, 8, 10, 8)) {
            writeInStrips(pw, new float[3 * 8 * 3], 3, 8, PixelRange.ZERO_ONE, 3);
            pw.abort();
        }
        assertEquals(List.of(), leftovers());
    }

    @Test
    void wrongStripShapeIsAnErrorAndAborts() throws IOException {
        Path p = dir.resolve("shape.png");
        StreamingPngWriter pw = StreamingPngWriter.open(p, 8, 10, 8);
        try (Tensor t = Tensor.allocate(1, 3, 2, 9)) {
            VaeException e = assertThrows(VaeException.class, () -> pw.writeRows(t, PixelRange.ZERO_ONE));
            assertTrue(e.getMessage().contains("expected a strip [1, 3, rows, 8], got [1, 3, 2, 9]"), e.getMessage());
        }
        assertEquals(List.of(), leftovers());
    }

    @Test
    void badArgumentsAndMissingDirectory() {
        assertThrows(IllegalArgumentException.class, () -> StreamingPngWriter.open(dir.resolve("a.png"), 4, 4, 12));
        assertThrows(VaeException.class, () -> StreamingPngWriter.open(dir.resolve("a.png"), 0, 4, 8));
        VaeException e = assertThrows(VaeException.class,
                () -> StreamingPngWriter.open(dir.resolve("no/such/a.png"), 4, 4, 8));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    /** The JVM's shutdown (what Ctrl-C triggers) deletes the temporary file of a writer still open. */
    @Test
    void shutdownDeletesTheTemporaryFile() throws Exception {
        Path target = dir.resolve("interrupted.png");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process proc = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "--enable-native-access=ALL-UNNAMED", ShutdownMain.class.getName(), target.toString())
                .redirectErrorStream(true).start();
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "child finished");
        String out = new String(proc.getInputStream().readAllBytes());
        assertEquals(0, proc.exitValue(), out);
        assertTrue(out.contains("temporary file exists: true"), out);
        assertEquals(List.of(), leftovers(), "nothing left after the JVM exited mid-write");
    }

    /** Run in a child JVM: opens a writer, writes some rows, and exits without closing it. */
    public static final class ShutdownMain {
        public static void main(String[] args) throws IOException {
            Path target = Path.of(args[0]);
            StreamingPngWriter pw = StreamingPngWriter.open(target, 16, 100, 8);
            try (Tensor t = Tensor.allocate(1, 3, 10, 16)) {
                pw.writeRows(t, PixelRange.ZERO_ONE);
            }
            try (Stream<Path> s = Files.list(target.getParent())) {
                System.out.println("temporary file exists: " + s.anyMatch(f -> f.getFileName().toString()
                        .startsWith("." + target.getFileName() + ".tmp-")));
            }
            System.exit(0);
        }
    }

    @Test
    void writesValidChunks() throws IOException {
        Path p = dir.resolve("chunks.png");
        int w = 300;
        int h = 200;
        try (StreamingPngWriter pw = StreamingPngWriter.open(p, w, h, 16, 0, Filter.NONE)) {
            writeInStrips(pw, values(3 * w * h, 4), h, w, PixelRange.ZERO_ONE, 64);
        }
        byte[] png = Files.readAllBytes(p);
        List<TestPngs.Chunk> chunks = TestPngs.chunks(png);
        assertEquals("IHDR", chunks.getFirst().type());
        assertEquals("IEND", chunks.getLast().type());
        assertEquals(png.length, chunks.getLast().end());
        assertTrue(chunks.stream().filter(c -> c.type().equals("IDAT")).count() > 1, "stored data spans chunks");
        for (TestPngs.Chunk c : chunks) {
            byte[] copy = png.clone();
            TestPngs.fixCrc(copy, c);
            assertArrayEquals(png, copy, "CRC of " + c);
        }
        assertFalse(Files.exists(dir.resolve(".chunks.png.tmp")));
    }
}
