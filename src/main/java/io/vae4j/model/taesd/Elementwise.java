package io.vae4j.model.taesd;

import io.vae4j.backend.Backend;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

/** A parameterless elementwise module: TAESD's ReLU and the decoder's Clamp, tanh(x / 3) · 3. */
final class Elementwise implements Layer {
    static final Elementwise RELU = new Elementwise(Backend.Activation.RELU);
    static final Elementwise CLAMP = new Elementwise(Backend.Activation.TANH_CLAMP3);

    private final Backend.Activation activation;

    private Elementwise(Backend.Activation activation) {
        this.activation = activation;
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return backend.map(x, activation);
    }

    @Override
    public long parameters() {
        return 0;
    }

    @Override
    public String toString() {
        return activation.name();
    }
}
