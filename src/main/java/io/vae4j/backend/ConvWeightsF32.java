package io.vae4j.backend;

import io.vae4j.tensor.Tensor;

/**
 * A convolution's weights as float32 [out][in·k·k] rows plus a float bias: the form both built-in backends compute
 * with. Float32 weights stay the loaded (memory-mapped) tensor; F16/BF16 weights are widened once here, which costs
 * 4 bytes per weight for as long as the model is open.
 */
public final class ConvWeightsF32 implements PreparedConv {
    private final ConvParams params;
    private final Tensor weight;
    private final float[] bias;

    public ConvWeightsF32(ConvParams params) {
        this.params = params;
        this.weight = params.weight().toF32();
        this.bias = params.biasValues();
    }

    @Override
    public ConvParams params() {
        return params;
    }

    /** [out][in][k][k] float32, contiguous. */
    public Tensor weight() {
        return weight;
    }

    public float[] bias() {
        return bias;
    }

    public boolean converted() {
        return weight != params.weight();
    }

    @Override
    public void close() {
        if (converted()) {
            weight.close();
        }
    }
}
