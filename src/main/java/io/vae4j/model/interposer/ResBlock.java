package io.vae4j.model.interposer;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

/**
 * One block of the interposer's core: n = BatchNorm(x), then ReLU(long(n) + n), long being three 3x3 convolutions
 * with SiLU between them (its Dropout is the identity in eval mode). The residual is the normalised input, not x,
 * so the norm is materialised rather than fused into the first convolution.
 */
final class ResBlock implements Layer {
    private final BatchNorm norm;
    private final Conv conv0;
    private final Conv conv2;
    private final Conv conv4;

    ResBlock(Backend b, WeightSet w, String name, int channels) {
        norm = new BatchNorm(w, name + ".norm", channels);
        conv0 = new Conv(b, w, name + ".long.0", channels, channels, ConvGeometry.same3x3());
        conv2 = new Conv(b, w, name + ".long.2", channels, channels, ConvGeometry.same3x3());
        conv4 = new Conv(b, w, name + ".long.4", channels, channels, ConvGeometry.same3x3());
    }

    @Override
    public Tensor forward(Backend b, Tensor x) {
        try (Tensor n = b.groupNorm(x, norm.spec(false))) {
            Tensor h = Activations.silu(b, conv0.forward(b, n));
            try (Tensor s0 = h) {
                h = Activations.silu(b, conv2.forward(b, s0));
            }
            try (Tensor s2 = h) {
                h = conv4.forward(b, s2, n);
            }
            return Activations.relu(b, h);
        }
    }

    @Override
    public long macs(int[] in) {
        return conv0.macs(in) + conv2.macs(in) + conv4.macs(in);
    }

    @Override
    public long parameters() {
        return norm.parameters() + conv0.parameters() + conv2.parameters() + conv4.parameters();
    }

    @Override
    public void close() {
        norm.close();
        conv0.close();
        conv2.close();
        conv4.close();
    }
}
