package io.vae4j.model.consistency;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.GroupNormSpec;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.tensor.Tensor;

/**
 * diffusers ResnetBlock2D with time_embedding_norm "scale_shift", as the consistency decoder's UNet uses it:
 * out = skip(x) + conv2(silu(norm2(h)·(1 + scale) + shift)), h = conv1(resample(silu(norm1(x)))), with
 * [scale, shift] = time_emb_proj(silu(emb)) split in two. A block that resamples (the UNet's down- and upsamplers)
 * average-pools 2x2 or nearest-upsamples 2x both h and the skip path; one whose channels change has a 1x1
 * conv_shortcut.
 *
 * <p>The timestep's scale and shift are per channel and the same for every image of a batch, so they are folded
 * into norm2's affine (γ·(1 + scale), β·(1 + scale) + shift) once per schedule step at load: the block then runs
 * on the backend's own GroupNorm+SiLU+convolution kernels, with no kernel of its own.
 */
final class UnetResnet {
    enum Resample { NONE, DOWN, UP }

    private final Resample resample;
    private final GroupNormSpec norm1;
    private final Conv conv1;
    private final GroupNormSpec[] norm2ByStep;
    private final Conv conv2;
    private final Conv shortcut;
    private final long parameters;

    /**
     * @param stepEmbeddings silu(emb) of each schedule step, the input of this block's time_emb_proj
     */
    UnetResnet(Backend b, WeightSet w, String name, int in, int out, Resample resample, int groups, float eps,
               float[][] stepEmbeddings) {
        this.resample = resample;
        Tensor g1 = w.take(name + ".norm1.weight", in).copyF32(), b1 = w.take(name + ".norm1.bias", in).copyF32();
        norm1 = new GroupNormSpec(g1, b1, groups, eps, true);
        conv1 = new Conv(b, w, name + ".conv1", in, out, ConvGeometry.same3x3());
        conv2 = new Conv(b, w, name + ".conv2", out, out, ConvGeometry.same3x3());
        shortcut = in == out ? null : new Conv(b, w, name + ".conv_shortcut", in, out, ConvGeometry.pointwise());
        TimeEmbedding.Linear proj = new TimeEmbedding.Linear(w, name + ".time_emb_proj", stepEmbeddings[0].length,
                2 * out);
        try (Tensor g2 = w.take(name + ".norm2.weight", out).copyF32();
             Tensor b2 = w.take(name + ".norm2.bias", out).copyF32()) {
            norm2ByStep = new GroupNormSpec[stepEmbeddings.length];
            for (int s = 0; s < stepEmbeddings.length; s++) {
                float[] p = proj.apply(stepEmbeddings[s]);
                Tensor gamma = Tensor.allocate(out), beta = Tensor.allocate(out);
                for (int c = 0; c < out; c++) {
                    float scale = 1f + p[c], shift = p[out + c];
                    gamma.set(c, g2.get(c) * scale);
                    beta.set(c, b2.get(c) * scale + shift);
                }
                norm2ByStep[s] = new GroupNormSpec(gamma, beta, groups, eps, true);
            }
            parameters = 2L * in + conv1.parameters() + 2L * out + conv2.parameters() + proj.parameters()
                    + (shortcut == null ? 0 : shortcut.parameters());
        } finally {
            proj.close();
        }
    }

    Tensor forward(Backend b, Tensor x, int step) {
        Tensor h;
        Tensor skip;
        switch (resample) {
            case NONE -> {
                h = conv1.forward(b, x, norm1, null);
                skip = shortcut == null ? null : shortcut.forward(b, x);
            }
            case UP -> {
                try (Tensor n = b.groupNorm(x, norm1)) {
                    h = conv1.forwardUpsampled(b, n);
                }
                skip = b.upsampleNearest2x(x);
            }
            default -> {
                try (Tensor n = b.groupNorm(x, norm1); Tensor pooled = Resampling.averagePool2x2(b, n)) {
                    h = conv1.forward(b, pooled);
                }
                skip = Resampling.averagePool2x2(b, x);
            }
        }
        try (h; skip) {
            return conv2.forward(b, h, norm2ByStep[step], skip == null ? x : skip);
        }
    }

    /** Output shape for an input [n, c, height, width]. */
    int[] outShape(int[] in) {
        int f = resample == Resample.UP ? 2 : 1, d = resample == Resample.DOWN ? 2 : 1;
        return new int[]{in[0], conv2.outChannels(), in[2] * f / d, in[3] * f / d};
    }

    long macs(int[] in) {
        int[] o = outShape(in);
        return in[0] * (conv1.macs(o[2], o[3]) + conv2.macs(o[2], o[3])
                + (shortcut == null ? 0 : shortcut.macs(in[2], in[3])));
    }

    long parameters() {
        return parameters;
    }

    void close() {
        norm1.gamma().close();
        norm1.beta().close();
        for (GroupNormSpec s : norm2ByStep) {
            s.gamma().close();
            s.beta().close();
        }
        conv1.close();
        conv2.close();
        if (shortcut != null) {
            shortcut.close();
        }
    }
}
