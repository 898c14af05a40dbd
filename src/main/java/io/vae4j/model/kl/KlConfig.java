package io.vae4j.model.kl;

import io.vae4j.VaeException;
import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The architecture of an AutoencoderKL, as read off its tensors (ldm names): channels per resolution level
 * (ch · ch_mult), residual blocks per level, latent channels, and which optional parts are present. Either half may
 * be missing (a decoder-only file).
 */
public record KlConfig(int[] levelChannels, int numResBlocks, int latentChannels, int imageChannels,
                       boolean hasEncoder, boolean hasDecoder, boolean quantConv, boolean postQuantConv,
                       boolean encoderMidAttention, boolean decoderMidAttention) {

    public static final int GROUPS = 32;
    public static final float EPS = 1e-6f;

    public int levels() {
        return levelChannels.length;
    }

    /** Image pixels per latent pixel along one axis. */
    public int downscale() {
        return 1 << (levels() - 1);
    }

    /** Infers the configuration from ldm-named tensors, or explains what is missing. */
    public static KlConfig infer(WeightSet w) {
        boolean enc = w.has("encoder.conv_in.weight");
        boolean dec = w.has("decoder.conv_in.weight");
        if (!enc && !dec) {
            throw new VaeException(w.source() + ": no AutoencoderKL tensors found (neither encoder.conv_in.weight"
                    + " nor decoder.conv_in.weight, in ldm or diffusers naming)");
        }
        int[] levels;
        int resBlocks;
        int latent;
        int image;
        if (enc) {
            int n = count(w, "encoder.down.", ".block.0.conv1.weight");
            levels = new int[n];
            for (int i = 0; i < n; i++) {
                levels[i] = w.peek("encoder.down." + i + ".block.0.conv2.weight").dim(0);
            }
            resBlocks = count(w, "encoder.down.0.block.", ".conv1.weight");
            Tensor convOut = w.peek("encoder.conv_out.weight");
            image = w.peek("encoder.conv_in.weight").dim(1);
            latent = convOut == null ? 0 : convOut.dim(0) / 2;
        } else {
            int n = count(w, "decoder.up.", ".block.0.conv1.weight");
            levels = new int[n];
            for (int i = 0; i < n; i++) {
                levels[i] = w.peek("decoder.up." + i + ".block.0.conv2.weight").dim(0);
            }
            resBlocks = count(w, "decoder.up.0.block.", ".conv1.weight") - 1;
            image = w.peek("decoder.conv_out.weight") == null ? 3 : w.peek("decoder.conv_out.weight").dim(0);
            latent = w.peek("decoder.conv_in.weight").dim(1);
        }
        if (levels.length == 0 || resBlocks < 1 || latent < 1) {
            throw new VaeException(w.source() + ": incomplete AutoencoderKL: found " + levels.length
                    + " resolution levels, " + resBlocks + " residual blocks per level, " + latent
                    + " latent channels");
        }
        return new KlConfig(levels, resBlocks, latent, image, enc, dec, w.has("quant_conv.weight"),
                w.has("post_quant_conv.weight"), w.has("encoder.mid.attn_1.q.weight"),
                w.has("decoder.mid.attn_1.q.weight"));
    }

    /** How many consecutive indices i have prefix + i + suffix present, from 0. */
    private static int count(WeightSet w, String prefix, String suffix) {
        int i = 0;
        while (w.has(prefix + i + suffix)) {
            i++;
        }
        return i;
    }

    /** ch_mult as the config files write it (channels of each level over those of the first). */
    public int[] channelMultipliers() {
        return Arrays.stream(levelChannels).map(c -> c / levelChannels[0]).toArray();
    }

    public String describe() {
        List<String> parts = new ArrayList<>();
        parts.add("ch=" + levelChannels[0]);
        parts.add("ch_mult=" + Arrays.toString(channelMultipliers()));
        parts.add("num_res_blocks=" + numResBlocks);
        parts.add("z_channels=" + latentChannels);
        parts.add("quant_conv=" + (quantConv || postQuantConv ? "yes" : "no"));
        parts.add("mid_attention=" + (encoderMidAttention || decoderMidAttention ? "yes" : "no"));
        parts.add((hasEncoder ? "encoder" : "") + (hasEncoder && hasDecoder ? "+" : "") + (hasDecoder ? "decoder" : ""));
        return String.join(" ", parts);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KlConfig k && Arrays.equals(levelChannels, k.levelChannels)
                && numResBlocks == k.numResBlocks && latentChannels == k.latentChannels
                && imageChannels == k.imageChannels && hasEncoder == k.hasEncoder && hasDecoder == k.hasDecoder
                && quantConv == k.quantConv && postQuantConv == k.postQuantConv
                && encoderMidAttention == k.encoderMidAttention && decoderMidAttention == k.decoderMidAttention;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(levelChannels) * 31 + latentChannels;
    }

    @Override
    public String toString() {
        return describe();
    }
}
