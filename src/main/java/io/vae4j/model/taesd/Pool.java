package io.vae4j.model.taesd;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.GroupNorm;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

/**
 * taef2's mid-block branch, run before a Block: x + conv1x1(ReLU(GroupNorm(4, 4c)(conv1x1(x)))), both 1x1
 * convolutions without bias. The add is fused into the second convolution.
 */
final class Pool implements Layer {
    private final Conv expand;
    private final GroupNorm norm;
    private final Conv reduce;

    /** @param name the file's name of the pool module, e.g. {@code 11.pool} */
    Pool(Backend b, WeightSet w, String name, int channels) {
        int width = TaesdArch.poolWidth(channels);
        expand = new Conv(b, w, name + ".0", channels, width, ConvGeometry.pointwise(), false);
        norm = new GroupNorm(w, name + ".1", width, TaesdArch.POOL_GROUPS, TaesdArch.POOL_EPS, false);
        reduce = new Conv(b, w, name + ".3", width, channels, ConvGeometry.pointwise(), false);
    }

    @Override
    public long macs(int[] in) {
        return expand.macs(in) + reduce.macs(expand.outShape(in));
    }

    @Override
    public Tensor forward(Backend b, Tensor x) {
        try (Tensor e = expand.forward(b, x); Tensor n = norm.forward(b, e);
             Tensor r = b.map(n, Backend.Activation.RELU)) {
            return reduce.forward(b, r, x);
        }
    }

    @Override
    public long parameters() {
        return expand.parameters() + norm.parameters() + reduce.parameters();
    }

    @Override
    public void close() {
        expand.close();
        norm.close();
        reduce.close();
    }
}
