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
        return backend.groupNorm(x, spec(backend, x));
    }

    /**
     * This normalisation of {@code x}, as a prologue for {@link Conv#forward(Backend, Tensor, GroupNorm, Tensor)}:
     * with x's own statistics, or with recorded or frozen ones inside a {@link NormStats} scope.
     */
    public GroupNormSpec spec(Backend backend, Tensor x) {
        NormStats shared = NormStats.current();
        if (shared == null) {
            return new GroupNormSpec(gamma, beta, groups, eps, silu);
        }
        Tensor values = backend.toNchw(x);
        try {
            float[][] s = shared.statsFor(this, values, groups, eps);
            return new GroupNormSpec(gamma, beta, groups, eps, silu, s[0], s[1]);
        } finally {
            if (values != x) {
                values.close();
            }
        }
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
