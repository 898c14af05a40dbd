package io.vae4j.backend;

import io.vae4j.tensor.Tensor;

/**
 * A GroupNorm (optionally followed by SiLU) to apply to a convolution's input: see {@link Backend#normConv2d}.
 *
 * <p>{@code mean} and {@code rstd}, when not null, are frozen statistics: one value per group (shared by every
 * batch item), used instead of the input's own mean and 1/sqrt(var + eps). Tiled decoding uses them so that every
 * tile is normalised with the same, whole-image statistics. Both are null for an ordinary GroupNorm.
 */
public record GroupNormSpec(Tensor gamma, Tensor beta, int groups, float eps, boolean silu, float[] mean,
                            float[] rstd) {

    public GroupNormSpec {
        if ((mean == null) != (rstd == null)) {
            throw new IllegalArgumentException("frozen group norm statistics need both mean and rstd");
        }
        if (mean != null && (mean.length != groups || rstd.length != groups)) {
            throw new IllegalArgumentException("frozen group norm statistics: " + mean.length + " means and "
                    + rstd.length + " rstds for " + groups + " groups");
        }
    }

    /** An ordinary GroupNorm: statistics from the input. */
    public GroupNormSpec(Tensor gamma, Tensor beta, int groups, float eps, boolean silu) {
        this(gamma, beta, groups, eps, silu, null, null);
    }

    public boolean frozen() {
        return mean != null;
    }
}
