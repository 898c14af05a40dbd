package io.vae4j.model.nn;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.GroupNormSpec;
import io.vae4j.backend.PreparedConv;
import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.Work;

/** A 2-d convolution with bias, prepared once for the backend it runs on. */
public final class Conv implements Layer {
    private final PreparedConv prepared;

    public Conv(Backend backend, WeightSet w, String name, int in, int out, ConvGeometry g, boolean bias) {
        int k = g.kernel();
        Tensor weight = w.take(name + ".weight", out, in, k, k);
        Tensor b = bias ? w.take(name + ".bias", out) : null;
        this.prepared = backend.prepareConv(new ConvParams(name, weight, b, g));
    }

    public Conv(Backend backend, WeightSet w, String name, int in, int out, ConvGeometry g) {
        this(backend, w, name, in, out, g, true);
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return done(backend.conv2d(x, prepared, null), x, 1);
    }

    /** conv(x) + residual, the add fused into the convolution's output pass. */
    public Tensor forward(Backend backend, Tensor x, Tensor residual) {
        return done(backend.conv2d(x, prepared, residual), x, 1);
    }

    /** activation(conv(x) (+ residual when not null)), the activation fused into the output pass where it can be. */
    public Tensor forward(Backend backend, Tensor x, Tensor residual, Backend.Activation activation) {
        return done(backend.conv2d(x, prepared, residual, activation), x, 1);
    }

    /** conv(norm(x)) (+ residual when not null), the normalisation fused into the convolution where it can be. */
    public Tensor forward(Backend backend, Tensor x, GroupNorm norm, Tensor residual) {
        return done(backend.normConv2d(x, norm.spec(backend, x), prepared, residual), x, 1);
    }

    /**
     * conv(norm(x)) (+ residual when not null) for a normalisation the caller describes itself (an affine that
     * changes per call, such as a timestep's scale and shift folded into it), fused where it can be.
     */
    public Tensor forward(Backend backend, Tensor x, GroupNormSpec norm, Tensor residual) {
        return done(backend.normConv2d(x, norm, prepared, residual), x, 1);
    }

    /** conv(norm(x)) + residual, where the caller gives up residual (the result may be written over it). */
    public Tensor forwardOverResidual(Backend backend, Tensor x, GroupNorm norm, Tensor residual) {
        int[] in = x.shape();
        Tensor out = backend.normConv2dOverResidual(x, norm.spec(backend, x), prepared, residual);
        Work.done(macs(in));
        return out;
    }

    /** conv(nearest2x(x)). */
    public Tensor forwardUpsampled(Backend backend, Tensor x) {
        return done(backend.upsampleConv2d(x, prepared), x, 2);
    }

    /** Reports this convolution's work on x (upsampled by {@code scale} first) and passes its result on. */
    private Tensor done(Tensor out, Tensor x, int scale) {
        Work.done((long) x.dim(0) * macs(x.dim(2) * scale, x.dim(3) * scale));
        return out;
    }

    @Override
    public long macs(int[] in) {
        return (long) in[0] * macs(in[2], in[3]);
    }

    @Override
    public int[] outShape(int[] in) {
        ConvGeometry g = prepared.params().geometry();
        return new int[]{in[0], outChannels(), g.outHeight(in[2]), g.outWidth(in[3])};
    }

    public int outChannels() {
        return prepared.params().outChannels();
    }

    /** Multiply-accumulates on an input of this size. */
    public long macs(int h, int w) {
        return prepared.params().macs(h, w);
    }

    @Override
    public long parameters() {
        ConvParams p = prepared.params();
        return p.weight().numel() + (p.bias() == null ? 0 : p.bias().numel());
    }

    @Override
    public void close() {
        prepared.close();
    }
}
