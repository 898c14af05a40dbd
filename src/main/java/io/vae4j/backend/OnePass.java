package io.vae4j.backend;

import java.util.function.Supplier;

/**
 * A run that passes each layer of a model once and then ends (a one-image CLI decode or encode): inside it a
 * backend frees each convolution's prepared weights (the Winograd transforms, 4x the weights for F(4x4)) as soon as
 * the convolution has run, instead of keeping them all for the next run that will not come. A convolution called
 * again inside the scope prepares them again, so the results never change, only the time.
 */
public final class OnePass {
    private static final ScopedValue<Boolean> ACTIVE = ScopedValue.newInstance();

    private OnePass() {
    }

    /** Runs {@code work} as a one-pass run, on this thread (the one that calls the backend's kernels). */
    public static <T> T run(Supplier<T> work) {
        return ScopedValue.where(ACTIVE, Boolean.TRUE).call(work::get);
    }

    /** Whether the calling thread is inside {@link #run}. */
    public static boolean active() {
        return ACTIVE.orElse(Boolean.FALSE);
    }
}
