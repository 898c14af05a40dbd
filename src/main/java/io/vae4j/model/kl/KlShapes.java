package io.vae4j.model.kl;

import java.util.LinkedHashMap;
import java.util.SequencedMap;

/**
 * Every tensor name and shape an AutoencoderKL of a given config has, in ldm naming: what the builders will take.
 * Used to make random-weight models of real sizes (benchmarks) and to check files against an architecture.
 */
public final class KlShapes {
    private final SequencedMap<String, int[]> shapes = new LinkedHashMap<>();

    private KlShapes() {
    }

    /** The SD1/SD2/SDXL VAE (z = 4, with quant convs) or, with z = 16 and no quant convs, SD3/FLUX.1. */
    public static KlConfig sdConfig(int latentChannels, boolean quantConvs) {
        return new KlConfig(new int[]{128, 256, 512, 512}, 2, latentChannels, 3, true, true, quantConvs,
                quantConvs, true, true);
    }

    public static SequencedMap<String, int[]> of(KlConfig c) {
        KlShapes s = new KlShapes();
        int[] ch = c.levelChannels();
        int z = c.latentChannels();
        if (c.hasEncoder()) {
            s.conv("encoder.conv_in", c.imageChannels(), ch[0], 3);
            int in = ch[0];
            for (int i = 0; i < c.levels(); i++) {
                for (int j = 0; j < c.numResBlocks(); j++) {
                    s.resnet("encoder.down." + i + ".block." + j, in, ch[i]);
                    in = ch[i];
                }
                if (i != c.levels() - 1) {
                    s.conv("encoder.down." + i + ".downsample.conv", in, in, 3);
                }
            }
            s.mid("encoder.mid", in, c.encoderMidAttention());
            s.norm("encoder.norm_out", in);
            s.conv("encoder.conv_out", in, 2 * z, 3);
        }
        if (c.quantConv()) {
            s.conv("quant_conv", 2 * z, 2 * z, 1);
        }
        if (c.postQuantConv()) {
            s.conv("post_quant_conv", z, z, 1);
        }
        if (c.hasDecoder()) {
            int in = ch[c.levels() - 1];
            s.conv("decoder.conv_in", z, in, 3);
            s.mid("decoder.mid", in, c.decoderMidAttention());
            for (int i = c.levels() - 1; i >= 0; i--) {
                for (int j = 0; j <= c.numResBlocks(); j++) {
                    s.resnet("decoder.up." + i + ".block." + j, in, ch[i]);
                    in = ch[i];
                }
                if (i != 0) {
                    s.conv("decoder.up." + i + ".upsample.conv", in, in, 3);
                }
            }
            s.norm("decoder.norm_out", in);
            s.conv("decoder.conv_out", in, c.imageChannels(), 3);
        }
        return s.shapes;
    }

    private void conv(String name, int in, int out, int k) {
        shapes.put(name + ".weight", new int[]{out, in, k, k});
        shapes.put(name + ".bias", new int[]{out});
    }

    private void norm(String name, int c) {
        shapes.put(name + ".weight", new int[]{c});
        shapes.put(name + ".bias", new int[]{c});
    }

    private void resnet(String name, int in, int out) {
        norm(name + ".norm1", in);
        conv(name + ".conv1", in, out, 3);
        norm(name + ".norm2", out);
        conv(name + ".conv2", out, out, 3);
        if (in != out) {
            conv(name + ".nin_shortcut", in, out, 1);
        }
    }

    private void mid(String name, int c, boolean attention) {
        resnet(name + ".block_1", c, c);
        if (attention) {
            norm(name + ".attn_1.norm", c);
            for (String p : new String[]{"q", "k", "v", "proj_out"}) {
                conv(name + ".attn_1." + p, c, c, 1);
            }
        }
        resnet(name + ".block_2", c, c);
    }
}
