package io.vae4j.model.nn;

import io.vae4j.backend.Backend;
import io.vae4j.tensor.Tensor;

/**
 * One node of a model graph. A graph is a tree of layers holding their prepared weights; running it is a walk
 * over that tree. {@code forward} returns a new tensor and leaves its input alone (the caller closes it).
 */
public interface Layer extends AutoCloseable {
    Tensor forward(Backend backend, Tensor x);

    /**
     * forward for a caller that hands x over: the layer closes it (as soon as it is no longer needed, or by
     * writing its result over it), so that a graph's peak memory holds fewer activations.
     */
    default Tensor forwardConsuming(Backend backend, Tensor x) {
        try (x) {
            return forward(backend, x);
        }
    }

    /** Number of weights, for reporting. */
    long parameters();

    /**
     * Multiply-accumulates of {@link #forward} on an input of this shape [N, C, H, W]: what its convolutions
     * report to {@link io.vae4j.util.Work} as they finish, so a run's progress has a known total.
     */
    default long macs(int[] in) {
        return 0;
    }

    /** The shape {@link #forward} returns for an input of this shape. */
    default int[] outShape(int[] in) {
        return in;
    }

    @Override
    default void close() {
    }
}
