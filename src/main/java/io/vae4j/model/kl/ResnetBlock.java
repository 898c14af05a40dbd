package io.vae4j.model.kl;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.GroupNorm;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

/** ldm ResnetBlock: x + conv2(silu(norm2(conv1(silu(norm1(x)))))), with a 1x1 shortcut when channels change. */
public final class ResnetBlock implements Layer {
    private final GroupNorm norm1;
    private final Conv conv1;
    private final GroupNorm norm2;
    private final Conv conv2;
    private final Conv shortcut;

    public ResnetBlock(Backend b, WeightSet w, String name, int in, int out) {
        norm1 = new GroupNorm(w, name + ".norm1", in, KlConfig.GROUPS, KlConfig.EPS, true);
        conv1 = new Conv(b, w, name + ".conv1", in, out, ConvGeometry.same3x3());
        norm2 = new GroupNorm(w, name + ".norm2", out, KlConfig.GROUPS, KlConfig.EPS, true);
        conv2 = new Conv(b, w, name + ".conv2", out, out, ConvGeometry.same3x3());
        shortcut = in == out ? null : new Conv(b, w, name + ".nin_shortcut", in, out, ConvGeometry.pointwise());
    }

    @Override
    public long macs(int[] in) {
        int[] h = conv1.outShape(in);
        return conv1.macs(in) + conv2.macs(h) + (shortcut == null ? 0 : shortcut.macs(in));
    }

    @Override
    public int[] outShape(int[] in) {
        return conv2.outShape(conv1.outShape(in));
    }

    @Override
    public Tensor forward(Backend b, Tensor x) {
        try (Tensor h = conv1.forward(b, x, norm1, null)) {
            if (shortcut == null) {
                return conv2.forward(b, h, norm2, x);
            }
            try (Tensor s = shortcut.forward(b, x)) {
                return conv2.forward(b, h, norm2, s);
            }
        }
    }

    /**
     * The same, holding fewer activations at once: x is freed (or becomes the output) as soon as it is no longer
     * read, and the second convolution writes over the skip tensor: peak x + h (+ shortcut) instead of one more.
     */
    @Override
    public Tensor forwardConsuming(Backend b, Tensor x) {
        Tensor skip = x;
        try (Tensor h = conv1.forward(b, x, norm1, null)) {
            if (shortcut != null) {
                try (x) {
                    skip = shortcut.forward(b, x);
                }
            }
            return conv2.forwardOverResidual(b, h, norm2, skip);
        } catch (RuntimeException | Error e) {
            skip.close();
            throw e;
        }
    }

    @Override
    public long parameters() {
        return norm1.parameters() + conv1.parameters() + norm2.parameters() + conv2.parameters()
                + (shortcut == null ? 0 : shortcut.parameters());
    }

    @Override
    public void close() {
        conv1.close();
        conv2.close();
        norm1.close();
        norm2.close();
        if (shortcut != null) {
            shortcut.close();
        }
    }
}
