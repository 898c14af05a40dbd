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

/**
 * Builds the ldm/taming Encoder and Decoder as flat layer lists, taking tensors by ldm name: the AutoencoderKL's,
 * and (with attention inside levels and a single-width encoder output) the VQ autoencoders'.
 */
public final class KlGraph {
    private KlGraph() {
    }

    static Sequential encoder(Backend b, WeightSet w, KlConfig c) {
        return encoder(b, w, c, 2 * c.latentChannels(), new boolean[c.levels()]);
    }

    static Sequential decoder(Backend b, WeightSet w, KlConfig c) {
        return decoder(b, w, c, new boolean[c.levels()]);
    }

    /**
     * @param outChannels    the encoder's output channels: 2z for a KL posterior, z for a VQ autoencoder
     * @param levelAttention per level, whether an AttnBlock follows each of its residual blocks (ldm's
     *                       attn_resolutions, as level indices)
     */
    public static Sequential encoder(Backend b, WeightSet w, KlConfig c, int outChannels, boolean[] levelAttention) {
        List<Layer> layers = new ArrayList<>();
        int[] ch = c.levelChannels();
        layers.add(new Conv(b, w, "encoder.conv_in", c.imageChannels(), ch[0], ConvGeometry.same3x3()));
        int in = ch[0];
        for (int i = 0; i < c.levels(); i++) {
            for (int j = 0; j < c.numResBlocks(); j++) {
                layers.add(new ResnetBlock(b, w, "encoder.down." + i + ".block." + j, in, ch[i]));
                in = ch[i];
                if (levelAttention[i]) {
                    layers.add(new AttnBlock(b, w, "encoder.down." + i + ".attn." + j, in));
                }
            }
            if (i != c.levels() - 1) {
                layers.add(new Conv(b, w, "encoder.down." + i + ".downsample.conv", in, in,
                        ConvGeometry.ldmDownsample()));
            }
        }
        mid(b, w, "encoder.mid", in, c.encoderMidAttention(), layers);
        layers.add(new NormConv(new GroupNorm(w, "encoder.norm_out", in, KlConfig.GROUPS, KlConfig.EPS, true),
                new Conv(b, w, "encoder.conv_out", in, outChannels, ConvGeometry.same3x3())));
        return new Sequential(layers);
    }

    /** @param levelAttention per level, whether an AttnBlock follows each of its residual blocks */
    public static Sequential decoder(Backend b, WeightSet w, KlConfig c, boolean[] levelAttention) {
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
                if (levelAttention[i]) {
                    layers.add(new AttnBlock(b, w, "decoder.up." + i + ".attn." + j, in));
                }
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
