package io.vae4j.model.kl;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.GroupNorm;
import io.vae4j.model.nn.Layer;
import io.vae4j.model.nn.NormConv;
import io.vae4j.model.nn.Sequential;
import io.vae4j.model.nn.Upsample;

import java.util.ArrayList;
import java.util.List;

/** Builds the ldm Encoder and Decoder of an AutoencoderKL as flat layer lists, taking tensors by ldm name. */
final class KlGraph {
    private KlGraph() {
    }

    static Sequential encoder(Backend b, WeightSet w, KlConfig c) {
        List<Layer> layers = new ArrayList<>();
        int[] ch = c.levelChannels();
        layers.add(new Conv(b, w, "encoder.conv_in", c.imageChannels(), ch[0], ConvGeometry.same3x3()));
        int in = ch[0];
        for (int i = 0; i < c.levels(); i++) {
            for (int j = 0; j < c.numResBlocks(); j++) {
                layers.add(new ResnetBlock(b, w, "encoder.down." + i + ".block." + j, in, ch[i]));
                in = ch[i];
            }
            if (i != c.levels() - 1) {
                layers.add(new Conv(b, w, "encoder.down." + i + ".downsample.conv", in, in,
                        ConvGeometry.ldmDownsample()));
            }
        }
        mid(b, w, "encoder.mid", in, c.encoderMidAttention(), layers);
        layers.add(new NormConv(new GroupNorm(w, "encoder.norm_out", in, KlConfig.GROUPS, KlConfig.EPS, true),
                new Conv(b, w, "encoder.conv_out", in, 2 * c.latentChannels(), ConvGeometry.same3x3())));
        return new Sequential(layers);
    }

    static Sequential decoder(Backend b, WeightSet w, KlConfig c) {
        List<Layer> layers = new ArrayList<>();
        int[] ch = c.levelChannels();
        int z = c.latentChannels();
        int in = ch[c.levels() - 1];
        layers.add(new Conv(b, w, "decoder.conv_in", z, in, ConvGeometry.same3x3()));
        mid(b, w, "decoder.mid", in, c.decoderMidAttention(), layers);
        for (int i = c.levels() - 1; i >= 0; i--) {
            for (int j = 0; j <= c.numResBlocks(); j++) {
                layers.add(new ResnetBlock(b, w, "decoder.up." + i + ".block." + j, in, ch[i]));
                in = ch[i];
            }
            if (i != 0) {
                layers.add(new Upsample(new Conv(b, w, "decoder.up." + i + ".upsample.conv", in, in,
                        ConvGeometry.same3x3())));
            }
        }
        layers.add(new NormConv(new GroupNorm(w, "decoder.norm_out", in, KlConfig.GROUPS, KlConfig.EPS, true),
                new Conv(b, w, "decoder.conv_out", in, c.imageChannels(), ConvGeometry.same3x3())));
        return new Sequential(layers);
    }

    private static void mid(Backend b, WeightSet w, String name, int c, boolean attention, List<Layer> layers) {
        layers.add(new ResnetBlock(b, w, name + ".block_1", c, c));
        if (attention) {
            layers.add(new AttnBlock(b, w, name + ".attn_1", c));
        }
        layers.add(new ResnetBlock(b, w, name + ".block_2", c, c));
    }
}
