package io.vae4j.backend.vector;

import io.vae4j.backend.ConvParams;
import io.vae4j.backend.ConvWeightsF32;
import io.vae4j.backend.PreparedConv;
import io.vae4j.tensor.Tensor;

/**
 * A convolution prepared for the Vector API backend: float32 weights, plus their Winograd transform, made on first
 * use (a model used only to decode never pays for its encoder's) and kept: 16/9 of the weights' size.
 */
final class VectorConv implements PreparedConv {
    final ConvWeightsF32 weights;
    private volatile Tensor winograd;

    VectorConv(ConvParams params) {
        this.weights = new ConvWeightsF32(params);
    }

    @Override
    public ConvParams params() {
        return weights.params();
    }

    Tensor winograd() {
        Tensor u = winograd;
        if (u == null) {
            synchronized (this) {
                u = winograd;
                if (u == null) {
                    winograd = u = Winograd2x2.transformWeights(weights.weight());
                }
            }
        }
        return u;
    }

    @Override
    public synchronized void close() {
        weights.close();
        if (winograd != null) {
            winograd.close();
            winograd = null;
        }
    }
}
