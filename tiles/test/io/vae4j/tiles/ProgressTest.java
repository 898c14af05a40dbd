package io.vae4j.tiles;

import io.vae4j.tiles.Progress.Mode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    private Progress progress(Mode mode, int tiles, long pixels) {
        return new Progress("decode", tiles, pixels, out, now::get, () -> 3L << 30, mode);
    }

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private void advance(double seconds) {
        now.addAndGet((long) (seconds * 1e9));
    }

    @Test
    void barRedrawsInPlaceAtMostFourTimesASecond() {
        Progress p = progress(Mode.BAR, 100, 100 * 1_000_000L);
        for (int i = 0; i < 99; i++) {
            advance(0.05); // 20 tiles a second
            p.tileDone(1_000_000);
        }
        String s = text();
        long redraws = s.chars().filter(c -> c == '\r').count();
        // 99 tiles over 4.95 s: the first tile, then one redraw per 250 ms at most.
        assertTrue(redraws >= 15 && redraws <= 21, redraws + " redraws: " + s);
        assertTrue(!s.contains("\n"), "the bar stays on one line");
        String last = s.substring(s.lastIndexOf('\r') + 1);
        assertTrue(last.startsWith("decode [#"), last);
        assertTrue(last.contains("tiles (") && last.contains(" tiles/s, ") && last.contains(" MPix/s, ETA "), last);
        advance(0.05);
        p.tileDone(1_000_000);
        String fin = p.finish();
        String all = text();
        assertTrue(all.endsWith("\n" + fin + System.lineSeparator()), all);
        assertTrue(all.contains("[########################] 100/100 tiles (100%), 20.00 tiles/s, 20.00 MPix/s"),
                all);
        assertEquals("decode: 100 tiles in 5.0s (20.00 tiles/s, 20.00 MPix/s), peak memory 3.0 GiB, scratch 0 B", fin);
    }

    @Test
    void shorterLinesWipeTheLongerOneBefore() {
        Progress p = progress(Mode.BAR, 3, 0);
        advance(10);
        p.tileDone(0);
        String first = text().substring(1);
        advance(0.001);
        p.tileDone(0); // too soon: not drawn
        advance(1000);
        p.tileDone(0);
        String last = text().substring(text().lastIndexOf('\r') + 1);
        assertTrue(last.length() >= first.length(), "padded: [" + first + "] then [" + last + "]");
    }

    @Test
    void etaFromThroughput() {
        Progress p = progress(Mode.BAR, 10, 10_000_000L);
        advance(30);
        p.tileDone(1_000_000);
        advance(30);
        p.tileDone(1_000_000);
        assertTrue(p.status(now.get()).endsWith("2/10 tiles (20%), 0.03 tiles/s, 0.03 MPix/s, ETA 4m00s"),
                p.status(now.get()));
    }

    @Test
    void logModePrintsALineEveryTenSeconds() {
        Progress p = progress(Mode.LOG, 1000, 0);
        for (int i = 0; i < 100; i++) {
            advance(1);
            p.tileDone(0);
        }
        String[] lines = text().split("\n");
        assertEquals(10, lines.length, text());
        assertTrue(lines[0].startsWith("decode: 10/1000 tiles (1%), 1.00 tiles/s, ETA 16m30s"), lines[0]);
        assertTrue(!text().contains("\r"));
        p.scratchBytes(5L << 20);
        p.scratchBytes(1L << 20); // the peak is kept
        String summary = p.finish();
        assertTrue(summary.endsWith("peak memory 3.0 GiB, scratch 5.0 MiB"), summary);
        assertTrue(text().endsWith(summary + System.lineSeparator()));
        p.finish();
        assertEquals(11, text().split("\n").length, "the summary is printed once");
    }

    @Test
    void quietPrintsNothing() {
        Progress p = progress(Mode.QUIET, 5, 0);
        for (int i = 0; i < 5; i++) {
            advance(20);
            p.tileDone(0);
        }
        assertTrue(p.finish().startsWith("decode: 5 tiles in 1m40s"));
        assertEquals("", text());
        assertEquals(Mode.QUIET, Progress.toStderr("x", 1, 0, true).mode());
    }

    @Test
    void formatting() {
        assertEquals("0.0s", Progress.duration(0));
        assertEquals("59.9s", Progress.duration(59.94));
        assertEquals("1m00s", Progress.duration(59.96));
        assertEquals("1h02m03s", Progress.duration(3723));
        assertEquals("?", Progress.duration(Double.NaN));
        assertEquals("0 B", Progress.bytes(0));
        assertEquals("1023 B", Progress.bytes(1023));
        assertEquals("1.0 KiB", Progress.bytes(1024));
        assertEquals("512 MiB", Progress.bytes(512L << 20));
        assertEquals("3.1 GiB", Progress.bytes((long) (3.1 * (1L << 30))));
    }
}
