package io.vae4j.model.nn;

import io.vae4j.backend.Backend;
import io.vae4j.backend.GroupNormSpec;
import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;

/** GroupNorm with its per-channel affine, optionally followed by SiLU (the pair every VAE block starts with). */
public final class GroupNorm implements Layer {
    private final Tensor gamma;
    private final Tensor beta;
    private final int groups;
    private final float eps;
    private final boolean silu;

    public GroupNorm(WeightSet w, String name, int channels, int groups, float eps, boolean silu) {
        // Converted to float32 once: tiny, and read once per channel per call.
        this.gamma = w.take(name + ".weight", channels).copyF32();
        this.beta = w.take(name + ".bias", channels).copyF32();
        this.groups = groups;
        this.eps = eps;
        this.silu = silu;
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return backend.groupNorm(x, gamma, beta, groups, eps, silu);
    }

    /** This normalisation as a prologue for {@link Conv#forward(Backend, Tensor, GroupNorm, Tensor)}. */
    public GroupNormSpec spec() {
        return new GroupNormSpec(gamma, beta, groups, eps, silu);
    }

    @Override
    public long parameters() {
        return gamma.numel() * 2;
    }

    @Override
    public void close() {
        gamma.close();
        beta.close();
    }
}
