package io.vae4j.model.svd;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.kl.AttnBlock;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.GroupNorm;
import io.vae4j.model.nn.NormConv;
import io.vae4j.model.nn.Upsample;

import io.vae4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * sgm's VideoDecoder (diffusers TemporalDecoder): the ldm decoder with every res block a {@link VideoResBlock} and a
 * {@link TimeMixConv} after conv_out. Attention, upsampling and the output convolution see each frame alone.
 */
final class TemporalDecoder implements AutoCloseable {
    private final List<FrameLayer> layers = new ArrayList<>();

    TemporalDecoder(Backend b, WeightSet w, KlConfig c) {
        int[] ch = c.levelChannels();
        int in = ch[c.levels() - 1];
        layers.add(FrameLayer.perFrame(new Conv(b, w, "decoder.conv_in", c.latentChannels(), in,
                ConvGeometry.same3x3())));
        layers.add(new VideoResBlock(b, w, "decoder.mid.block_1", in, in));
        if (c.decoderMidAttention()) {
            layers.add(FrameLayer.perFrame(new AttnBlock(b, w, "decoder.mid.attn_1", in)));
        }
        layers.add(new VideoResBlock(b, w, "decoder.mid.block_2", in, in));
        for (int i = c.levels() - 1; i >= 0; i--) {
            for (int j = 0; j <= c.numResBlocks(); j++) {
                layers.add(new VideoResBlock(b, w, "decoder.up." + i + ".block." + j, in, ch[i]));
                in = ch[i];
            }
            if (i != 0) {
                layers.add(FrameLayer.perFrame(new Upsample(new Conv(b, w, "decoder.up." + i + ".upsample.conv", in,
                        in, ConvGeometry.same3x3()))));
            }
        }
        layers.add(FrameLayer.perFrame(new NormConv(new GroupNorm(w, "decoder.norm_out", in, KlConfig.GROUPS,
                KlConfig.EPS, true), new Conv(b, w, "decoder.conv_out", in, c.imageChannels(), ConvGeometry.same3x3()))));
        layers.add(new TimeMixConv(b, w, "decoder.conv_out.time_mix_conv", c.imageChannels()));
    }

    /** Frames z [B·T, C, h, w] (not closed) to images [B·T, 3, H, W], as the backend leaves them. */
    Tensor forward(Backend b, Tensor z, int frames) {
        // The first layer gets a copy it may close: every layer consumes its input.
        Tensor h = z.copyF32();
        for (FrameLayer layer : layers) {
            h = layer.forwardConsuming(b, h, frames);
        }
        return h;
    }

    long macs(int[] in) {
        long sum = 0;
        int[] shape = in;
        for (FrameLayer l : layers) {
            sum += l.macs(shape);
            shape = l.outShape(shape);
        }
        return sum;
    }

    /** Elements of the largest output any layer makes from frames of this shape. */
    long largestActivation(int[] in) {
        long largest = 0;
        int[] shape = in;
        for (FrameLayer l : layers) {
            shape = l.outShape(shape);
            largest = Math.max(largest, Tensor.numel(shape));
        }
        return largest;
    }

    long parameters() {
        return layers.stream().mapToLong(FrameLayer::parameters).sum();
    }

    /** How many res blocks have a temporal part. */
    long videoBlocks() {
        return layers.stream().filter(l -> l instanceof VideoResBlock).count();
    }

    @Override
    public void close() {
        layers.forEach(FrameLayer::close);
    }
}
