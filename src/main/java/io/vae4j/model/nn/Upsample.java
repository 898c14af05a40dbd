package io.vae4j.model.nn;

import io.vae4j.backend.Backend;
import io.vae4j.tensor.Tensor;

/** Nearest 2x upsampling followed by a convolution, run as one fused kernel. */
public final class Upsample implements Layer {
    private final Conv conv;

    public Upsample(Conv conv) {
        this.conv = conv;
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return conv.forwardUpsampled(backend, x);
    }

    @Override
    public long macs(int[] in) {
        return conv.macs(doubled(in));
    }

    @Override
    public int[] outShape(int[] in) {
        return conv.outShape(doubled(in));
    }

    private static int[] doubled(int[] in) {
        return new int[]{in[0], in[1], 2 * in[2], 2 * in[3]};
    }

    /** The convolution alone, at the input's resolution (TAESD previews); shares, and does not own, the weights. */
    public Layer withoutUpsampling() {
        return new Layer() {
            @Override
            public Tensor forward(Backend backend, Tensor x) {
                return conv.forward(backend, x);
            }

            @Override
            public long parameters() {
                return 0;
            }

            @Override
            public long macs(int[] in) {
                return conv.macs(in);
            }

            @Override
            public int[] outShape(int[] in) {
                return conv.outShape(in);
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
