package io.vae4j.tiles;

import io.vae4j.util.ResidentMemory;

import java.io.Console;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of a tiled run on stderr: tiles done of the total, throughput in tiles/s and megapixels/s, and the
 * time left, plus a one-line summary at the end (time, peak resident memory, scratch bytes).
 *
 * <p>Three modes: {@link Mode#BAR} redraws one line in place (carriage return), at most four times a second, for a
 * terminal; {@link Mode#LOG} prints a plain line at most every ten seconds, for a log file or a pipe;
 * {@link Mode#QUIET} prints nothing. {@link #toStderr} picks the mode. The output stream, clock and peak-memory
 * probe are parameters so that tests can drive it. Thread-safe: tiles may finish on any thread.
 */
public final class Progress {

    public enum Mode { BAR, LOG, QUIET }

    /** Least time between two redraws of the bar: at most ~4 a second. */
    static final long BAR_INTERVAL_NANOS = 250_000_000L;
    /** Least time between two lines in LOG mode. */
    static final long LOG_INTERVAL_NANOS = 10_000_000_000L;
    private static final int BAR_WIDTH = 24;

    private final String label;
    private final int totalTiles;
    private final long totalPixels;
    private final PrintStream out;
    private final LongSupplier clock;
    private final LongSupplier peakMemory;
    private final Mode mode;
    private final long start;

    private int tilesDone;
    private long pixelsDone;
    private long scratchBytes;
    private long lastDraw;
    private int lastLength;
    private boolean drawn;
    private boolean finished;

    /**
     * @param label       what is running, e.g. "decode"
     * @param totalTiles  tiles in the plan
     * @param totalPixels output pixels in all (for MPix/s and the time left); 0 if unknown
     * @param clock       nanosecond clock, {@link System#nanoTime} in production
     * @param peakMemory  peak resident bytes so far, or -1 when unknown; {@link ResidentMemory#peak} in production
     */
    public Progress(String label, int totalTiles, long totalPixels, PrintStream out, LongSupplier clock,
                    LongSupplier peakMemory, Mode mode) {
        if (totalTiles <= 0) {
            throw new IllegalArgumentException("total tiles must be positive, got " + totalTiles);
        }
        this.label = label;
        this.totalTiles = totalTiles;
        this.totalPixels = totalPixels;
        this.out = out;
        this.clock = clock;
        this.peakMemory = peakMemory;
        this.mode = mode;
        this.start = clock.getAsLong();
        this.lastDraw = start;
    }

    /**
     * Progress on {@code System.err}: nothing when {@code quiet}, the in-place bar when the JVM has a terminal
     * ({@code System.console()} is a terminal), else a line every ten seconds.
     */
    public static Progress toStderr(String label, int totalTiles, long totalPixels, boolean quiet) {
        return new Progress(label, totalTiles, totalPixels, System.err, System::nanoTime, ResidentMemory::peak,
                stderrMode(quiet));
    }

    /** How progress goes to stderr: nothing when quiet, a bar redrawn in place on a terminal, else lines. */
    public static Mode stderrMode(boolean quiet) {
        if (quiet) {
            return Mode.QUIET;
        }
        Console c = System.console();
        return c != null && c.isTerminal() ? Mode.BAR : Mode.LOG;
    }

    public Mode mode() {
        return mode;
    }

    /** Records one finished tile that produced {@code pixels} output pixels, and redraws if it is time to. */
    public synchronized void tileDone(long pixels) {
        tilesDone++;
        pixelsDone += pixels;
        long now = clock.getAsLong();
        switch (mode) {
            case BAR -> {
                if (tilesDone == totalTiles || !drawn || now - lastDraw >= BAR_INTERVAL_NANOS) {
                    draw(now);
                }
            }
            case LOG -> {
                if (now - lastDraw >= LOG_INTERVAL_NANOS) {
                    out.println(label + ": " + status(now));
                    out.flush();
                    lastDraw = now;
                }
            }
            case QUIET -> {
            }
        }
    }

    /** Sets the scratch (temporary file) bytes in use, for the summary; the largest value seen is reported. */
    public synchronized void scratchBytes(long bytes) {
        scratchBytes = Math.max(scratchBytes, bytes);
    }

    public synchronized int tilesDone() {
        return tilesDone;
    }

    /**
     * Ends the run: finishes the bar's line and prints the summary (nothing in quiet mode).
     *
     * @return the summary line, printed or not
     */
    public synchronized String finish() {
        long now = clock.getAsLong();
        String summary = summary(now);
        if (!finished) {
            finished = true;
            if (mode == Mode.BAR) {
                if (drawn) {
                    draw(now);
                    out.println();
                }
                out.println(summary);
            } else if (mode == Mode.LOG) {
                out.println(summary);
            }
            out.flush();
        }
        return summary;
    }

    private void draw(long now) {
        int filled = (int) ((long) BAR_WIDTH * tilesDone / totalTiles);
        String line = label + " [" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] " + status(now);
        // Pad with spaces to wipe what is left of a longer previous line.
        String padded = line.length() < lastLength ? line + " ".repeat(lastLength - line.length()) : line;
        out.print("\r" + padded);
        out.flush();
        lastLength = line.length();
        lastDraw = now;
        drawn = true;
    }

    /** "37/120 tiles (30%), 0.52 tiles/s, 3.4 MPix/s, ETA 2m40s". */
    synchronized String status(long now) {
        double seconds = (now - start) / 1e9;
        StringBuilder sb = new StringBuilder();
        sb.append(tilesDone).append('/').append(totalTiles).append(" tiles (")
                .append(100L * tilesDone / totalTiles).append("%)");
        if (seconds > 0 && tilesDone > 0) {
            sb.append(String.format(Locale.ROOT, ", %.2f tiles/s", tilesDone / seconds));
            if (pixelsDone > 0) {
                sb.append(String.format(Locale.ROOT, ", %.2f MPix/s", pixelsDone / seconds / 1e6));
            }
            double left;
            if (totalPixels > 0 && pixelsDone > 0) {
                left = seconds * Math.max(0, totalPixels - pixelsDone) / pixelsDone;
            } else {
                left = seconds * (totalTiles - tilesDone) / tilesDone;
            }
            if (tilesDone < totalTiles) {
                sb.append(", ETA ").append(duration(left));
            }
        }
        return sb.toString();
    }

    /** "decode: 120 tiles in 1h02m03s (0.03 tiles/s, 1.20 MPix/s), peak memory 3.1 GiB, scratch 0 B". */
    synchronized String summary(long now) {
        double seconds = (now - start) / 1e9;
        StringBuilder sb = new StringBuilder(label).append(": ").append(tilesDone).append(" tiles in ")
                .append(duration(seconds));
        if (seconds > 0) {
            sb.append(String.format(Locale.ROOT, " (%.2f tiles/s", tilesDone / seconds));
            if (pixelsDone > 0) {
                sb.append(String.format(Locale.ROOT, ", %.2f MPix/s", pixelsDone / seconds / 1e6));
            }
            sb.append(')');
        }
        long peak = peakMemory.getAsLong();
        sb.append(", peak memory ").append(peak < 0 ? "unknown" : bytes(peak));
        sb.append(", scratch ").append(bytes(scratchBytes));
        return sb.toString();
    }

    /** "12.3s", "2m40s", "1h02m03s". */
    public static String duration(double seconds) {
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            return "?";
        }
        if (Math.round(seconds * 10) < 600) {
            return String.format(Locale.ROOT, "%.1fs", seconds);
        }
        long s = Math.round(seconds);
        long h = s / 3600;
        long m = s / 60 % 60;
        long sec = s % 60;
        return h > 0 ? String.format(Locale.ROOT, "%dh%02dm%02ds", h, m, sec)
                : String.format(Locale.ROOT, "%dm%02ds", m, sec);
    }

    /** "0 B", "512 KiB", "3.1 GiB". */
    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u + 1 < units.length) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
    }
}
