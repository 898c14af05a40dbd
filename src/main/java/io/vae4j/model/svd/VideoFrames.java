package io.vae4j.model.svd;

import java.util.function.Supplier;

/**
 * How many frames each video of a decode has, for callers that reach the temporal decoder through the generic
 * {@link io.vae4j.model.Vae#decode} (the pipeline, with its progress and attention scopes). Bound on the calling
 * thread for the duration of a run; unbound, a batch is one video.
 */
public final class VideoFrames {
    private static final ScopedValue<Integer> CURRENT = ScopedValue.newInstance();

    private VideoFrames() {
    }

    /** Runs {@code work} with videos of {@code frames} frames. */
    public static <T> T where(int frames, Supplier<T> work) {
        return ScopedValue.where(CURRENT, frames).call(work::get);
    }

    /** The frames per video in force, or {@code batch} (the whole batch one video) when none is. */
    static int current(int batch) {
        return CURRENT.isBound() ? CURRENT.get() : batch;
    }
}
