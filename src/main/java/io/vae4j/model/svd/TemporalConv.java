package io.vae4j.model.svd;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.GroupNorm;
import io.vae4j.tensor.Tensor;

import java.util.Map;

/**
 * A Conv3d with kernel (3, 1, 1), zero-padded by one frame at each end of a video, run as the backends' 3x3
 * convolution over the video view [B, C, T, H·W] ({@link VideoLayout}) with the kernel in the middle column and
 * zeros either side: the rows are frames, so the kernel's rows reach the previous and next frame, and the zero
 * columns keep neighbouring pixels out. It costs three times the multiplies of a dedicated kernel but reuses the
 * backends' fused, tested GroupNorm + convolution paths. The weights and bias may be scaled by a constant, which
 * folds the learned blend of a video res block into its last convolution.
 */
final class TemporalConv implements AutoCloseable {
    private final Tensor weight;
    private final Tensor bias;
    private final Conv conv;

    /**
     * @param name  the Conv3d's tensors: {@code name.weight} [out, in, 3, 1, 1] and {@code name.bias} [out]
     * @param scale multiplies the weights and the bias
     */
    TemporalConv(Backend backend, WeightSet w, String name, int in, int out, float scale) {
        Tensor k = w.take(name + ".weight", out, in, 3, 1, 1);
        Tensor b = w.take(name + ".bias", out);
        weight = Tensor.allocate(out, in, 3, 3);
        bias = Tensor.allocate(out);
        try {
            for (long oi = 0; oi < (long) out * in; oi++) {
                for (int kt = 0; kt < 3; kt++) {
                    weight.set((oi * 3 + kt) * 3 + 1, scale * k.get(oi * 3 + kt));
                }
            }
            for (int o = 0; o < out; o++) {
                bias.set(o, scale * b.get(o));
            }
            conv = new Conv(backend, new WeightSet(w.source(), Map.of(name + ".weight", weight, name + ".bias",
                    bias)), name, in, out, ConvGeometry.same3x3());
        } catch (RuntimeException | Error e) {
            weight.close();
            bias.close();
            throw e;
        }
    }

    /** conv(video). */
    Tensor forward(Backend b, Tensor video) {
        return conv.forward(b, video);
    }

    /** conv(norm(video)) (+ residual). */
    Tensor forward(Backend b, Tensor video, GroupNorm norm, Tensor residual) {
        return conv.forward(b, video, norm, residual);
    }

    /** conv(norm(video)) + residual, written over the residual, which the caller gives up. */
    Tensor forwardOverResidual(Backend b, Tensor video, GroupNorm norm, Tensor residual) {
        return conv.forwardOverResidual(b, video, norm, residual);
    }

    /** Multiply-accumulates on frames [B·T, C, H, W]: those of the 3x3 over the video view, whatever B and T. */
    long macs(int[] frames) {
        return conv.macs(frames[0], frames[2] * frames[3]);
    }

    /** The Conv3d's own weights: the zero columns are not parameters. */
    long parameters() {
        return weight.numel() / 3 + bias.numel();
    }

    @Override
    public void close() {
        conv.close();
        weight.close();
        bias.close();
    }
}
