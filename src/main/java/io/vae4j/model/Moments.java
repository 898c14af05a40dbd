package io.vae4j.model;

import io.vae4j.tensor.Tensor;

/**
 * What an encoder returns: the latent distribution's mean and, for the KL autoencoders, its log-variance (already
 * clamped to [-30, 20] as the reference does). Deterministic encoders have no log-variance. Owns both tensors.
 */
public record Moments(Tensor mean, Tensor logvar) implements AutoCloseable {

    /** mean + exp(logvar / 2) · ε, ε ~ N(0, 1) from {@link GaussianNoise}; the mean when there is no variance. */
    public Tensor sample(long seed) {
        Tensor out = mean.copyF32();
        if (logvar == null) {
            return out;
        }
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        for (long i = 0; i < out.numel(); i++) {
            double eps = GaussianNoise.next(random);
            out.set(i, (float) (mean.get(i) + Math.exp(logvar.get(i) / 2) * eps));
        }
        return out;
    }

    @Override
    public void close() {
        mean.close();
        if (logvar != null) {
            logvar.close();
        }
    }
}
