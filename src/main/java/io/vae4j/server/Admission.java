package io.vae4j.server;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admission control: at most {@code maxConcurrent} requests compute at once and up to {@code maxQueue} more wait;
 * past that a request is turned away (429) before its body is read. The compute threads themselves are the
 * concurrency limit (one request each); this counts who is admitted and who is running, for the gauges.
 */
final class Admission {
    private final int maxConcurrent;
    private final int maxQueue;
    private final Semaphore admitted;
    private final AtomicInteger running = new AtomicInteger();

    Admission(int maxConcurrent, int maxQueue) {
        this.maxConcurrent = maxConcurrent;
        this.maxQueue = maxQueue;
        this.admitted = new Semaphore(maxConcurrent + maxQueue);
    }

    /** A place among the admitted, or null when every slot and queue place is taken. */
    Ticket tryEnter() {
        return admitted.tryAcquire() ? new Ticket() : null;
    }

    int running() {
        return running.get();
    }

    /** Admitted requests not yet computing. */
    int queued() {
        return Math.max(0, maxConcurrent + maxQueue - admitted.availablePermits() - running.get());
    }

    int maxConcurrent() {
        return maxConcurrent;
    }

    int maxQueue() {
        return maxQueue;
    }

    /** One admitted request; closing it gives its place back. */
    final class Ticket implements AutoCloseable {
        private boolean closed;
        private boolean computing;

        /** The request's compute started (it left the queue). */
        void computing() {
            if (!computing) {
                computing = true;
                running.incrementAndGet();
            }
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                if (computing) {
                    running.decrementAndGet();
                }
                admitted.release();
            }
        }
    }
}
