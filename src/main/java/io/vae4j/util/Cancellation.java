package io.vae4j.util;

import io.vae4j.VaeException;

import java.util.function.Supplier;

/**
 * A flag a running decode or encode polls so that someone else can stop it: a server whose request timed out, or
 * whose client went away, frees the compute slot within one kernel instead of at the end of the run. The work runs
 * inside {@link #run}; {@link #check} (called by every parallel kernel loop on the calling thread) throws
 * {@link Cancelled} once {@link #cancel} has been called. Outside {@link #run}, checking costs one unbound-scoped
 * value test.
 */
public final class Cancellation {
    private static final ScopedValue<Cancellation> CURRENT = ScopedValue.newInstance();

    private volatile String reason;

    /** Stops the work at its next check; the first reason given is kept. */
    public void cancel(String why) {
        if (reason == null) {
            reason = why;
        }
    }

    public boolean cancelled() {
        return reason != null;
    }

    /** Why the work was cancelled, or null. */
    public String reason() {
        return reason;
    }

    /** Runs work with this flag as the current thread's. */
    public <T> T run(Supplier<T> work) {
        return ScopedValue.where(CURRENT, this).call(work::get);
    }

    /** The flag of the work running on this thread, or null outside {@link #run}. */
    public static Cancellation current() {
        return CURRENT.isBound() ? CURRENT.get() : null;
    }

    /** Throws {@link Cancelled} when this flag is set (for threads the work hands parts of itself to). */
    public void checkHere() {
        String why = reason;
        if (why != null) {
            throw new Cancelled(why);
        }
    }

    /** Throws {@link Cancelled} when the current work's flag is set. */
    public static void check() {
        if (CURRENT.isBound()) {
            String why = CURRENT.get().reason;
            if (why != null) {
                throw new Cancelled(why);
            }
        }
    }

    /** The work was stopped from outside; the message says why. */
    public static final class Cancelled extends VaeException {
        public Cancelled(String message) {
            super(message);
        }
    }
}
