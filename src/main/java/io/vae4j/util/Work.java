package io.vae4j.util;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * How far a long run has come, in units its layers report as they finish (multiply-accumulates): a front end binds
 * one with {@link #run}, knowing the total in advance (the model graph computes it from the input's shape), and its
 * listener draws a bar or prints a line. Outside {@link #run}, {@link #done} costs one unbound-scoped-value test.
 */
public final class Work {
    private static final ScopedValue<Work> CURRENT = ScopedValue.newInstance();

    /** Told of every step, from the thread that made it. */
    public interface Listener {
        void update(long done, long total);
    }

    private final long total;
    private final Listener listener;
    private final AtomicLong done = new AtomicLong();

    public Work(long total, Listener listener) {
        this.total = Math.max(1, total);
        this.listener = listener;
    }

    public <T> T run(Supplier<T> work) {
        return ScopedValue.where(CURRENT, this).call(work::get);
    }

    /** Records {@code units} more of the current run's work done. */
    public static void done(long units) {
        if (CURRENT.isBound()) {
            Work w = CURRENT.get();
            long d = w.done.addAndGet(units);
            w.listener.update(Math.min(d, w.total), w.total);
        }
    }

    /** Units recorded so far (for tests). */
    public long doneSoFar() {
        return done.get();
    }

    public long total() {
        return total;
    }
}
