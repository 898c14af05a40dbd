package io.vae4j.model.taesd;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

/**
 * TAESD's Block: ReLU(conv4(ReLU(conv2(ReLU(conv0(x))))) + skip(x)), 3x3 convolutions with bias, the skip a 1x1
 * convolution without bias when the widths differ and the identity otherwise. The add is fused into the last
 * convolution. With a {@link Pool} (taef2), x is first replaced by x + pool(x).
 */
final class Block implements Layer {
    private static final Backend.Activation RELU = Backend.Activation.RELU;
    /** Pixels of context a Block reads around each output pixel: three 3x3 convolutions in a row. */
    static final int REACH = 3;

    private final Conv conv0;
    private final Conv conv2;
    private final Conv conv4;
    private final Conv skip;
    private final Pool pool;

    /** @param name the file's name of the module, e.g. {@code 3} or {@code decoder.layers.2} */
    Block(Backend b, WeightSet w, String name, int in, int out, boolean pool) {
        conv0 = new Conv(b, w, name + ".conv.0", in, out, ConvGeometry.same3x3());
        conv2 = new Conv(b, w, name + ".conv.2", out, out, ConvGeometry.same3x3());
        conv4 = new Conv(b, w, name + ".conv.4", out, out, ConvGeometry.same3x3());
        skip = in == out ? null : new Conv(b, w, name + ".skip", in, out, ConvGeometry.pointwise(), false);
        this.pool = pool ? new Pool(b, w, name + ".pool", in) : null;
    }

    @Override
    public long macs(int[] in) {
        long sum = pool == null ? 0 : pool.macs(in);
        int[] h = conv0.outShape(in);
        return sum + conv0.macs(in) + conv2.macs(h) + conv4.macs(h) + (skip == null ? 0 : skip.macs(in));
    }

    @Override
    public int[] outShape(int[] in) {
        return conv4.outShape(conv0.outShape(in));
    }

    @Override
    public Tensor forward(Backend b, Tensor x) {
        if (pool == null) {
            return trunk(b, x);
        }
        try (Tensor pooled = pool.forward(b, x)) {
            return trunk(b, pooled);
        }
    }

    /**
     * Each intermediate is freed as soon as the next one exists: at most x, two activations and the skip live. The
     * ReLUs are the convolutions' own (applied as they store their output where the backend can).
     */
    private Tensor trunk(Backend b, Tensor x) {
        Tensor h = conv0.forward(b, x, null, RELU);
        try (Tensor r0 = h) {
            h = conv2.forward(b, r0, null, RELU);
        }
        try (Tensor r2 = h; Tensor s = skip == null ? null : skip.forward(b, x)) {
            return conv4.forward(b, r2, s == null ? x : s, RELU);
        }
    }

    @Override
    public long parameters() {
        return conv0.parameters() + conv2.parameters() + conv4.parameters()
                + (skip == null ? 0 : skip.parameters()) + (pool == null ? 0 : pool.parameters());
    }

    @Override
    public void close() {
        conv0.close();
        conv2.close();
        conv4.close();
        if (skip != null) {
            skip.close();
        }
        if (pool != null) {
            pool.close();
        }
    }
}
