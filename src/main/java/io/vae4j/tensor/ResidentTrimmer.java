package io.vae4j.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Keeps a {@link ScratchSpace}'s mapped pages from piling up in the resident set. Kernels touch scratch tensors
 * anywhere (a GroupNorm's statistics read a whole tensor, a 1x1 convolution writes all of its output at once), so
 * rather than tracking pages, this watches the process's file-backed resident set ({@code RssFile}: scratch, the
 * memory-mapped weights, the JDK's libraries) a few hundred times a second, from its own thread and from kernels
 * between bands, and once it has grown by more than the slack since the last release, releases every scratch
 * page: contents stay in the file, pages still in use fault straight back in from the page cache. The peak is
 * then about what the process holds outside scratch, plus the slack, plus what a kernel touches in one band.
 * Anonymous memory is left out of the measure: it moves by tens of megabytes as buffers come and go, and a
 * baseline taken at a high point of it would let scratch grow that much past the slack.
 */
final class ResidentTrimmer {
    private static final long INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(4);

    private final ScratchSpace space;
    private final long slack;
    private final Thread thread;
    private final FileChannel status;
    private final ByteBuffer buffer = ByteBuffer.allocate(4096);
    private volatile boolean stopped;
    private volatile long releases;
    /** Resident bytes after the last release (or the lowest seen since): growth is measured from here. */
    private long baseline;
    private long lastPoll;

    private ResidentTrimmer(ScratchSpace space, long slack, FileChannel status) {
        this.space = space;
        this.slack = slack;
        this.status = status;
        this.thread = Thread.ofPlatform().daemon().name("vae4j-scratch-trimmer").unstarted(this::loop);
    }

    /** Starts watching; without /proc (not Linux) there is nothing to watch, and scratch pages are never released. */
    static ResidentTrimmer start(ScratchSpace space, long slack) {
        FileChannel status;
        try {
            status = FileChannel.open(Path.of("/proc/self/status"), StandardOpenOption.READ);
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
        ResidentTrimmer t = new ResidentTrimmer(space, slack, status);
        t.thread.start();
        return t;
    }

    long releases() {
        return releases;
    }

    private void loop() {
        synchronized (this) {
            baseline = resident();
        }
        while (!stopped) {
            LockSupport.parkNanos(INTERVAL_NANOS);
            poll(0);
        }
    }

    /**
     * Releases scratch pages if the resident set has grown past the slack; does nothing when the last look was
     * less than {@code minNanos} ago. Kernels call this between bands too ({@link ScratchSpace#checkpoint}): on a
     * loaded machine this thread may not run for a long while, and a kernel can touch gigabytes meanwhile.
     */
    synchronized void poll(long minNanos) {
        long t = System.nanoTime();
        if (minNanos > 0 && t - lastPoll < minNanos) {
            return;
        }
        lastPoll = t;
        long now = resident();
        if (now > baseline + slack) {
            space.releaseAll();
            releases++;
            baseline = resident();
        } else if (now < baseline) {
            baseline = now;
        }
    }

    /**
     * RssFile in bytes, or 0 when it cannot be read (which disables releasing, rather than releasing always). Parsed
     * from the bytes, as this runs hundreds of times a second and garbage would grow the heap's share of the RSS.
     */
    private long resident() {
        try {
            buffer.clear();
            int n = Math.max(0, status.read(buffer, 0));
            byte[] b = buffer.array();
            int at = indexOf(b, n, KEY);
            if (at < 0) {
                return 0;
            }
            long kb = 0;
            for (int i = at + KEY.length; i < n && b[i] != 'k' && b[i] != '\n'; i++) {
                if (b[i] >= '0' && b[i] <= '9') {
                    kb = kb * 10 + (b[i] - '0');
                }
            }
            return kb * 1024;
        } catch (IOException e) {
            return 0;
        }
    }

    private static final byte[] KEY = "RssFile:".getBytes(StandardCharsets.US_ASCII);

    private static int indexOf(byte[] b, int n, byte[] key) {
        outer:
        for (int i = 0; i + key.length <= n; i++) {
            for (int j = 0; j < key.length; j++) {
                if (b[i + j] != key[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    void stop() {
        stopped = true;
        LockSupport.unpark(thread);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            status.close();
        } catch (IOException ignored) {
            // read-only /proc file: nothing to lose
        }
    }
}
