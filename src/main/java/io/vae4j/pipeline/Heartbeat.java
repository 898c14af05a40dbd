package io.vae4j.pipeline;

import io.vae4j.tiles.Progress;

import java.io.PrintStream;

/**
 * Progress of a step whose length nobody can tell in advance (loading a model, preparing a server): after two
 * seconds, the time spent so far, redrawn in place on a terminal, or a line every ten seconds otherwise. Close it
 * when the step ends.
 */
public final class Heartbeat implements AutoCloseable {
    private final String label;
    private final PrintStream out;
    private final Progress.Mode mode;
    private final long start = System.nanoTime();
    private final Thread thread;
    private boolean drawn;

    Heartbeat(String label, PrintStream out, Progress.Mode mode) {
        this.label = label;
        this.out = out;
        this.mode = mode;
        this.thread = mode == Progress.Mode.QUIET ? null : Thread.ofVirtual().name("vae4j-heartbeat").start(this::beat);
    }

    /** On stderr: nothing when quiet, redrawn in place on a terminal, lines otherwise. */
    public static Heartbeat toStderr(String label, boolean quiet) {
        return new Heartbeat(label, System.err, Progress.stderrMode(quiet));
    }

    private void beat() {
        try {
            Thread.sleep(WorkProgress.SILENT_NANOS / 1_000_000);
            while (true) {
                synchronized (this) {
                    String line = label + " ... " + Progress.duration((System.nanoTime() - start) / 1e9);
                    if (mode == Progress.Mode.BAR) {
                        out.print("\r" + line);
                        drawn = true;
                    } else {
                        out.println(line);
                    }
                    out.flush();
                }
                Thread.sleep(mode == Progress.Mode.BAR ? 250 : 10_000);
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    @Override
    public void close() {
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (drawn) {
                out.println();
                out.flush();
                drawn = false;
            }
        }
    }
}
