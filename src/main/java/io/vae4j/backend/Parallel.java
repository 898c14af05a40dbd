package io.vae4j.backend;

import io.vae4j.util.Cancellation;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * A fixed set of worker threads that runs an indexed loop: the calling thread works too, and indices are handed
 * out one at a time so uneven tasks balance. One instance per backend; the threads are daemons.
 */
public final class Parallel implements AutoCloseable {
    private final int threads;
    private final ExecutorService pool;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "vae4j-worker");
            t.setDaemon(true);
            return t;
        });
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs body(i) for i in [0, n), spread over the threads; returns when all are done. A cancelled run
     * ({@link Cancellation}) stops here, before the loop and between its indices (one loop can be a whole
     * attention layer: seconds).
     */
    public void forEach(int n, IntConsumer body) {
        Cancellation cancel = Cancellation.current();
        if (cancel != null) {
            cancel.checkHere();
        }
        if (n <= 0) {
            return;
        }
        if (pool == null || n == 1) {
            for (int i = 0; i < n; i++) {
                if (cancel != null) {
                    cancel.checkHere();
                }
                body.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> {
            try {
                for (int i; (i = next.getAndIncrement()) < n && failure.get() == null; ) {
                    if (cancel != null) {
                        cancel.checkHere();
                    }
                    body.accept(i);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        };
        int helpers = Math.min(threads - 1, n - 1);
        CountDownLatch done = new CountDownLatch(helpers);
        for (int h = 0; h < helpers; h++) {
            pool.execute(() -> {
                try {
                    worker.run();
                } finally {
                    done.countDown();
                }
            });
        }
        worker.run();
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) {
            throw re;
        } else if (t instanceof Error err) {
            throw err;
        } else if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
