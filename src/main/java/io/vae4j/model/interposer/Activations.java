package io.vae4j.model.interposer;

import io.vae4j.backend.Backend;
import io.vae4j.tensor.Tensor;

/** The interposer's activations, applied to a tensor the caller hands over. */
final class Activations {
    private Activations() {
    }

    static Tensor silu(Backend b, Tensor t) {
        try (t) {
            return b.map(t, Backend.Activation.SILU);
        }
    }

    static Tensor relu(Backend b, Tensor t) {
        try (t) {
            return b.map(t, Backend.Activation.RELU);
        }
    }
}
