package io.vae4j.model.svd;

import io.vae4j.backend.Backend;
import io.vae4j.model.WeightSet;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.ResnetBlock;
import io.vae4j.model.nn.GroupNorm;
import io.vae4j.tensor.Tensor;

/**
 * sgm's VideoResBlock (diffusers SpatioTemporalResBlock): the ldm res block on each frame, x_s; then a temporal res
 * block on each video, x_t = x_s + conv2(silu(norm2(conv1(silu(norm1(x_s)))))), its GroupNorms (eps 1e-5) over one
 * video's frames together and its convolutions Conv3d (3, 1, 1); out = a·x_t + (1 - a)·x_s with a =
 * sigmoid(mix_factor), which is x_s + a·(x_t - x_s): the second convolution runs with its weights and bias scaled by
 * a, over x_s as its residual.
 */
final class VideoResBlock implements FrameLayer {
    static final float TEMPORAL_EPS = 1e-5f;

    private final ResnetBlock spatial;
    private final GroupNorm norm1;
    private final TemporalConv conv1;
    private final GroupNorm norm2;
    private final TemporalConv conv2;
    private final float mix;

    VideoResBlock(Backend b, WeightSet w, String name, int in, int out) {
        spatial = new ResnetBlock(b, w, name, in, out);
        String t = name + ".time_stack.";
        mix = (float) (1 / (1 + Math.exp(-w.take(name + ".mix_factor", 1).get(0))));
        norm1 = new GroupNorm(w, t + "in_layers.0", out, KlConfig.GROUPS, TEMPORAL_EPS, true);
        conv1 = new TemporalConv(b, w, t + "in_layers.2", out, out, 1f);
        norm2 = new GroupNorm(w, t + "out_layers.0", out, KlConfig.GROUPS, TEMPORAL_EPS, true);
        conv2 = new TemporalConv(b, w, t + "out_layers.3", out, out, mix);
    }

    /** sigmoid(mix_factor): the temporal branch's share of the output. */
    float mix() {
        return mix;
    }

    @Override
    public Tensor forwardConsuming(Backend b, Tensor x, int frames) {
        Tensor video;
        int h, w;
        try (Tensor xs = b.toNchwConsuming(spatial.forwardConsuming(b, x))) {
            h = xs.dim(2);
            w = xs.dim(3);
            video = VideoLayout.toVideo(xs, frames);
        }
        Tensor mixed;
        try (Tensor t = conv1.forward(b, video, norm1, null)) {
            mixed = conv2.forwardOverResidual(b, t, norm2, video);
        } catch (RuntimeException | Error e) {
            video.close();
            throw e;
        }
        try (Tensor m = b.toNchwConsuming(mixed)) {
            return VideoLayout.toFrames(m, h, w);
        }
    }

    @Override
    public long macs(int[] in) {
        int[] s = spatial.outShape(in);
        return spatial.macs(in) + conv1.macs(s) + conv2.macs(s);
    }

    @Override
    public int[] outShape(int[] in) {
        return spatial.outShape(in);
    }

    @Override
    public long parameters() {
        return spatial.parameters() + norm1.parameters() + conv1.parameters() + norm2.parameters()
                + conv2.parameters() + 1;
    }

    @Override
    public void close() {
        spatial.close();
        norm1.close();
        conv1.close();
        norm2.close();
        conv2.close();
    }
}
