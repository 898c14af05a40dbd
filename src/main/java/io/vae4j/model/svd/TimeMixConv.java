package io.vae4j.model.svd;

import io.vae4j.backend.Backend;
import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;

/** The decoder's last step, sgm's conv_out.time_mix_conv (diffusers time_conv_out): a Conv3d (3, 1, 1) over each video. */
final class TimeMixConv implements FrameLayer {
    private final TemporalConv conv;

    TimeMixConv(Backend b, WeightSet w, String name, int channels) {
        conv = new TemporalConv(b, w, name, channels, channels, 1f);
    }

    @Override
    public Tensor forwardConsuming(Backend b, Tensor x, int frames) {
        int h = x.dim(2), w = x.dim(3);
        Tensor video;
        try (Tensor xs = b.toNchwConsuming(x)) {
            video = VideoLayout.toVideo(xs, frames);
        }
        try (video; Tensor out = b.toNchwConsuming(conv.forward(b, video))) {
            return VideoLayout.toFrames(out, h, w);
        }
    }

    @Override
    public long macs(int[] in) {
        return conv.macs(in);
    }

    @Override
    public int[] outShape(int[] in) {
        return in;
    }

    @Override
    public long parameters() {
        return conv.parameters();
    }

    @Override
    public void close() {
        conv.close();
    }
}
