package io.vae4j.model.interposer;

import io.vae4j.backend.GroupNormSpec;
import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;

/**
 * An eval-mode BatchNorm2d: y = (x - running_mean) / sqrt(running_var + eps) · weight + bias. That is a GroupNorm
 * with one channel per group and frozen statistics, so it runs on the backends' GroupNorm kernels (and fuses into
 * the convolution after it) instead of needing a kernel of its own.
 */
final class BatchNorm implements AutoCloseable {
    /** torch.nn.BatchNorm2d's default. */
    static final float EPS = 1e-5f;

    private final Tensor gamma;
    private final Tensor beta;
    private final float[] mean;
    private final float[] rstd;

    BatchNorm(WeightSet w, String name, int channels) {
        this.gamma = w.take(name + ".weight", channels).copyF32();
        this.beta = w.take(name + ".bias", channels).copyF32();
        this.mean = w.take(name + ".running_mean", channels).toFloatArray();
        float[] var = w.take(name + ".running_var", channels).toFloatArray();
        this.rstd = new float[channels];
        for (int c = 0; c < channels; c++) {
            rstd[c] = (float) (1 / Math.sqrt((double) var[c] + EPS));
        }
    }

    /** The normalisation, optionally followed by SiLU, as a backend GroupNorm. */
    GroupNormSpec spec(boolean silu) {
        return new GroupNormSpec(gamma, beta, mean.length, EPS, silu, mean, rstd);
    }

    /** weight, bias and the two running statistics: what the reference's state dict counts. */
    long parameters() {
        return gamma.numel() * 4;
    }

    @Override
    public void close() {
        gamma.close();
        beta.close();
    }
}
