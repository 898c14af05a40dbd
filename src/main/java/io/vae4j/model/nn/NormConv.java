package io.vae4j.model.nn;

import io.vae4j.backend.Backend;
import io.vae4j.tensor.Tensor;

/** GroupNorm (+ SiLU) then a convolution, run as one fused step. */
public final class NormConv implements Layer {
    private final GroupNorm norm;
    private final Conv conv;

    public NormConv(GroupNorm norm, Conv conv) {
        this.norm = norm;
        this.conv = conv;
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return conv.forward(backend, x, norm, null);
    }

    @Override
    public long macs(int[] in) {
        return conv.macs(in);
    }

    @Override
    public int[] outShape(int[] in) {
        return conv.outShape(in);
    }

    @Override
    public long parameters() {
        return norm.parameters() + conv.parameters();
    }

    @Override
    public void close() {
        norm.close();
        conv.close();
    }
}
