package io.vae4j.backend;

import io.vae4j.tensor.Layout;
import io.vae4j.tensor.Tensor;

/**
 * The kernels a model graph is made of. Activations are float32 [N, C, H, W]; they come in NCHW at a model's
 * edges, and a backend may return them in a layout of its own (the layout is a property of the tensor,
 * {@link Tensor#layout()}), which every kernel of the same backend takes. Whoever reads an activation's values
 * directly (a model's result, statistics, crops) first asks {@link #toNchw}. Returned tensors are new and owned by
 * the caller, who closes them; inputs are never modified or closed.
 */
public interface Backend extends AutoCloseable {

    String name();

    /** How many threads the kernels use. */
    int threads();

    /** The arithmetic of the convolutions; every other kernel computes in float32 whatever this says. */
    default Precision precision() {
        return Precision.FP32;
    }

    /** Turns loaded weights into this backend's form; called once per convolution at model load. */
    PreparedConv prepareConv(ConvParams params);

    /**
     * Bytes of a convolution's weights, in the form this backend computes with, that a whole-image run keeps in
     * its scratch space (made there once per run rather than held in RAM): part of the disk such a run needs, and
     * made when the convolution first runs. None by default.
     *
     * @param upsampled whether the convolution runs on a nearest-2x-upsampled input ({@link #upsampleConv2d})
     */
    default long scratchWeightBytes(ConvGeometry g, int in, int out, boolean upsampled) {
        return 0;
    }

    /** conv(in) + bias, plus {@code residual} (same shape as the output) when it is not null. */
    Tensor conv2d(Tensor in, PreparedConv conv, Tensor residual);

    /**
     * activation(conv(in) + bias (+ residual)), or the plain convolution when {@code activation} is null. Backends
     * that can apply the activation as the convolution stores its output override this (it then costs no pass over
     * the activation of its own); the default runs {@link #map}.
     */
    default Tensor conv2d(Tensor in, PreparedConv conv, Tensor residual, Activation activation) {
        if (activation == null) {
            return conv2d(in, conv, residual);
        }
        try (Tensor out = conv2d(in, conv, residual)) {
            return map(out, activation);
        }
    }

    /**
     * conv(groupNorm(in)) + bias (+ residual): the pair every VAE block is made of. Backends that can fold the
     * normalisation into the convolution's input pass override this; the default runs the two kernels.
     */
    default Tensor normConv2d(Tensor in, GroupNormSpec norm, PreparedConv conv, Tensor residual) {
        try (Tensor h = groupNorm(in, norm)) {
            return conv2d(h, conv, residual);
        }
    }

    /**
     * {@link #normConv2d} for a caller that gives up {@code residual} (an owned tensor, closed or reused here): the
     * result may be written over it, which saves one activation at the peak of a residual block. Kernels that read
     * each residual element only to produce the output element at the same index do it in place; the default
     * computes into new memory and closes the residual.
     */
    default Tensor normConv2dOverResidual(Tensor in, GroupNormSpec norm, PreparedConv conv, Tensor residual) {
        try (residual) {
            return normConv2d(in, norm, conv, residual);
        }
    }

    /** conv(nearest2x(in)) + bias, without materialising the upsampled input where the backend can avoid it. */
    Tensor upsampleConv2d(Tensor in, PreparedConv conv);

    /**
     * GroupNorm over {@code groups} groups of channels, with the per-channel affine, then SiLU when {@code silu}.
     * Statistics are those of each image (batch item) and group.
     */
    default Tensor groupNorm(Tensor in, Tensor gamma, Tensor beta, int groups, float eps, boolean silu) {
        return groupNorm(in, new GroupNormSpec(gamma, beta, groups, eps, silu));
    }

    /**
     * GroupNorm as {@code norm} describes it: with the input's own statistics, or with the spec's frozen per-group
     * mean and rstd when it has them ({@link GroupNormSpec#frozen()}).
     */
    Tensor groupNorm(Tensor in, GroupNormSpec norm);

    /** Nearest-neighbour 2x upsampling. */
    Tensor upsampleNearest2x(Tensor in);

    /**
     * Single-head attention over the pixels: for each image, softmax(Qᵀ·K / sqrt(C)) applied to V, where q, k, v
     * are [N, C, H, W] and each pixel is a token with C features. Returns [N, C, H, W].
     */
    Tensor attention(Tensor q, Tensor k, Tensor v);

    /** a + b, same shapes. */
    Tensor add(Tensor a, Tensor b);

    /** Elementwise activations used by the small models. */
    Tensor map(Tensor in, Activation activation);

    /**
     * t in NCHW: t itself when it already is, else a new NCHW tensor with its values (t is left alone; the caller
     * closes both). Backends that only make NCHW tensors keep the default.
     */
    default Tensor toNchw(Tensor t) {
        if (t.layout() != Layout.NCHW) {
            throw new IllegalArgumentException(name() + " backend cannot convert a " + t + " to NCHW");
        }
        return t;
    }

    /** {@link #toNchw} for a caller that hands t over: t is closed when a converted copy is returned. */
    default Tensor toNchwConsuming(Tensor t) {
        Tensor out = toNchw(t);
        if (out != t) {
            t.close();
        }
        return out;
    }

    /** Stops the backend's worker threads and frees what it holds; kernels may not be called afterwards. */
    @Override
    default void close() {
    }

    enum Activation {
        RELU, SILU, TANH_CLAMP3
    }
}
