package io.vae4j.backend;

import io.vae4j.tensor.Tensor;

/** A GroupNorm (optionally followed by SiLU) to apply to a convolution's input: see {@link Backend#normConv2d}. */
public record GroupNormSpec(Tensor gamma, Tensor beta, int groups, float eps, boolean silu) {
}
