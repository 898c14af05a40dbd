package io.vae4j.backend;

import io.vae4j.tensor.Tensor;

/**
 * A convolution as loaded from a file: weight [out, in, k, k] and optional bias [out], any stored dtype. Backends
 * turn it into their own {@link PreparedConv} once, at load.
 */
public record ConvParams(String name, Tensor weight, Tensor bias, ConvGeometry geometry) {

    public ConvParams {
        if (weight.rank() != 4 || weight.dim(2) != geometry.kernel() || weight.dim(3) != geometry.kernel()) {
            throw new IllegalArgumentException(name + ": weight " + weight + " does not match kernel "
                    + geometry.kernel());
        }
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != weight.dim(0))) {
            throw new IllegalArgumentException(name + ": bias " + bias + " does not match " + weight.dim(0)
                    + " output channels");
        }
    }

    public int outChannels() {
        return weight.dim(0);
    }

    public int inChannels() {
        return weight.dim(1);
    }

    /** The bias as float32 values, zeros when the convolution has none. */
    public float[] biasValues() {
        float[] b = new float[outChannels()];
        if (bias != null) {
            for (int i = 0; i < b.length; i++) {
                b[i] = bias.get(i);
            }
        }
        return b;
    }

    /** Multiply-accumulates for one image of the given input size. */
    public long macs(int h, int w) {
        long k = geometry.kernel();
        return (long) outChannels() * inChannels() * k * k * geometry.outHeight(h) * geometry.outWidth(w);
    }
}
