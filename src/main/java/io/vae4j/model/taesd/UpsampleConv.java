package io.vae4j.model.taesd;

import io.vae4j.backend.Backend;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

/**
 * The decoder's nearest 2x upsampling and the convolution after it, run as one fused kernel; for previews the
 * same convolution can run without the upsampling.
 */
final class UpsampleConv implements Layer {
    private final Conv conv;

    UpsampleConv(Conv conv) {
        this.conv = conv;
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return conv.forwardUpsampled(backend, x);
    }

    /** The convolution alone, at the input's resolution; shares (and does not own) the weights. */
    Layer withoutUpsampling() {
        return new Layer() {
            @Override
            public Tensor forward(Backend backend, Tensor x) {
                return conv.forward(backend, x);
            }

            @Override
            public long parameters() {
                return 0;
            }
        };
    }

    @Override
    public long parameters() {
        return conv.parameters();
    }

    @Override
    public void close() {
        conv.close();
    }
}
