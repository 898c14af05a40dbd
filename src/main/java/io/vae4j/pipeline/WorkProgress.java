package io.vae4j.pipeline;

import io.vae4j.tiles.Progress;
import io.vae4j.util.Work;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of one long untiled run on stderr, from its {@link Work} units: after the first two seconds (short runs
 * print nothing), a bar redrawn in place with the time left on a terminal, else a line every ten seconds.
 */
public final class WorkProgress implements Work.Listener {
    static final long SILENT_NANOS = 2_000_000_000L;
    private static final long BAR_NANOS = 250_000_000L;
    private static final long LOG_NANOS = 10_000_000_000L;
    private static final int WIDTH = 24;

    private final String label;
    private final PrintStream out;
    private final LongSupplier clock;
    private final Progress.Mode mode;
    private final long start;
    private long last;
    private boolean drawn;
    private int length;

    public WorkProgress(String label, PrintStream out, LongSupplier clock, Progress.Mode mode) {
        this.label = label;
        this.out = out;
        this.clock = clock;
        this.mode = mode;
        this.start = clock.getAsLong();
        this.last = start;
    }

    /** On stderr: nothing when quiet, a bar on a terminal, lines otherwise. */
    public static WorkProgress toStderr(String label, boolean quiet) {
        return new WorkProgress(label, System.err, System::nanoTime, Progress.stderrMode(quiet));
    }

    @Override
    public synchronized void update(long done, long total) {
        long now = clock.getAsLong();
        if (mode == Progress.Mode.QUIET || now - start < SILENT_NANOS) {
            return;
        }
        if (mode == Progress.Mode.BAR && (now - last >= BAR_NANOS || !drawn || done == total)) {
            int filled = (int) (WIDTH * done / total);
            String line = label + " [" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + status(now, done,
                    total);
            out.print("\r" + line + (line.length() < length ? " ".repeat(length - line.length()) : ""));
            out.flush();
            length = line.length();
            last = now;
            drawn = true;
        } else if (mode == Progress.Mode.LOG && now - last >= LOG_NANOS) {
            out.println(label + ": " + status(now, done, total));
            out.flush();
            last = now;
        }
    }

    /** "42%, 6.1s, ETA 8.4s". */
    static String status(long now, long start, long done, long total) {
        double seconds = (now - start) / 1e9;
        String s = String.format(Locale.ROOT, "%d%%, %s", 100 * done / total, Progress.duration(seconds));
        if (done > 0 && done < total) {
            s += ", ETA " + Progress.duration(seconds * (total - done) / done);
        }
        return s;
    }

    private String status(long now, long done, long total) {
        return status(now, start, done, total);
    }

    /** Ends the bar's line, if one was drawn. */
    public synchronized void finish() {
        if (drawn) {
            out.println();
            out.flush();
            drawn = false;
        }
    }
}
