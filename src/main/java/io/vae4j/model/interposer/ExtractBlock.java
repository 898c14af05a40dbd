package io.vae4j.model.interposer;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

/**
 * The interposer's head, which widens the latent to the working width: ReLU(long(x) + short(x)), long being three
 * 3x3 convolutions with SiLU between them, short one 3x3 convolution. The add is fused into long's last convolution.
 */
final class ExtractBlock implements Layer {
    private final Conv shortcut;
    private final Conv conv0;
    private final Conv conv2;
    private final Conv conv4;

    ExtractBlock(Backend b, WeightSet w, String name, int in, int out) {
        shortcut = new Conv(b, w, name + ".short", in, out, ConvGeometry.same3x3());
        conv0 = new Conv(b, w, name + ".long.0", in, out, ConvGeometry.same3x3());
        conv2 = new Conv(b, w, name + ".long.2", out, out, ConvGeometry.same3x3());
        conv4 = new Conv(b, w, name + ".long.4", out, out, ConvGeometry.same3x3());
    }

    @Override
    public Tensor forward(Backend b, Tensor x) {
        Tensor h = Activations.silu(b, conv0.forward(b, x));
        try (Tensor s0 = h) {
            h = Activations.silu(b, conv2.forward(b, s0));
        }
        try (Tensor s2 = h; Tensor skip = shortcut.forward(b, x)) {
            h = conv4.forward(b, s2, skip);
        }
        return Activations.relu(b, h);
    }

    @Override
    public long macs(int[] in) {
        int[] mid = conv0.outShape(in);
        return shortcut.macs(in) + conv0.macs(in) + conv2.macs(mid) + conv4.macs(mid);
    }

    @Override
    public int[] outShape(int[] in) {
        return conv0.outShape(in);
    }

    @Override
    public long parameters() {
        return shortcut.parameters() + conv0.parameters() + conv2.parameters() + conv4.parameters();
    }

    @Override
    public void close() {
        shortcut.close();
        conv0.close();
        conv2.close();
        conv4.close();
    }
}
