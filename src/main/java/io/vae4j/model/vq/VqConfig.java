package io.vae4j.model.vq;

import io.vae4j.VaeException;
import io.vae4j.model.WeightSet;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The architecture of a VQ autoencoder (taming VQModel, latent-diffusion VQModel), read off its tensors: the
 * ldm Encoder/Decoder body (as a {@link KlConfig} whose latent is z_channels), the levels whose residual blocks are
 * followed by attention (attn_resolutions, as level indices), and the codebook.
 *
 * @param body              the Encoder/Decoder; its latentChannels are z_channels (the encoder writes z, not 2z)
 * @param encoderAttention  per level, whether encoder.down.i has attention after its blocks
 * @param decoderAttention  per level, whether decoder.up.i has attention after its blocks
 * @param codebookSize      n_embed
 * @param embedDim          embed_dim: the quantized latent's channels
 */
public record VqConfig(KlConfig body, boolean[] encoderAttention, boolean[] decoderAttention, int codebookSize,
                       int embedDim) {

    public static final String CODEBOOK = "quantize.embedding.weight";

    /** Whether these tensors are a VQ autoencoder's: it has a codebook. */
    public static boolean matches(WeightSet w) {
        return w.has(CODEBOOK);
    }

    public static VqConfig infer(WeightSet w) {
        Tensor codebook = w.peek(CODEBOOK);
        if (codebook == null || codebook.rank() != 2 || codebook.dim(0) < 1 || codebook.dim(1) < 1) {
            throw new VaeException(w.source() + ": tensor '" + CODEBOOK + "' should be the codebook [n_embed, "
                    + "embed_dim], found " + (codebook == null ? "none" : java.util.Arrays.toString(codebook.shape())));
        }
        KlConfig kl = KlConfig.infer(w);
        Tensor decoderIn = w.peek("decoder.conv_in.weight");
        Tensor encoderOut = w.peek("encoder.conv_out.weight");
        int z = decoderIn != null ? decoderIn.dim(1) : encoderOut != null ? encoderOut.dim(0) : 0;
        if (z < 1) {
            throw new VaeException(w.source() + ": incomplete VQ autoencoder: no encoder.conv_out or decoder.conv_in");
        }
        KlConfig body = new KlConfig(kl.levelChannels(), kl.numResBlocks(), z, kl.imageChannels(), kl.hasEncoder(),
                kl.hasDecoder(), kl.quantConv(), kl.postQuantConv(), kl.encoderMidAttention(),
                kl.decoderMidAttention());
        int levels = body.levels();
        boolean[] enc = new boolean[levels], dec = new boolean[levels];
        for (int i = 0; i < levels; i++) {
            enc[i] = w.has("encoder.down." + i + ".attn.0.q.weight");
            dec[i] = w.has("decoder.up." + i + ".attn.0.q.weight");
        }
        int embed = codebook.dim(1);
        if (!body.quantConv() && body.hasEncoder() && embed != z || !body.postQuantConv() && body.hasDecoder()
                && embed != z) {
            throw new VaeException(w.source() + ": the codebook's embed_dim " + embed + " differs from z_channels "
                    + z + ", but quant_conv/post_quant_conv, which would map between them, are missing");
        }
        return new VqConfig(body, enc, dec, codebook.dim(0), embed);
    }

    /** Image pixels per latent pixel along one axis. */
    public int downscale() {
        return body.downscale();
    }

    public String describe() {
        List<String> parts = new ArrayList<>();
        parts.add("ch=" + body.levelChannels()[0]);
        parts.add("ch_mult=" + java.util.Arrays.toString(body.channelMultipliers()));
        parts.add("num_res_blocks=" + body.numResBlocks());
        parts.add("z_channels=" + body.latentChannels());
        boolean[] attention = body.hasEncoder() ? encoderAttention : decoderAttention;
        parts.add("attention at downscale " + java.util.Arrays.toString(IntStream.range(0, attention.length)
                .filter(i -> attention[i]).map(i -> 1 << i).toArray()));
        parts.add("mid_attention=" + (body.encoderMidAttention() || body.decoderMidAttention() ? "yes" : "no"));
        parts.add("codebook " + codebookSize + " x " + embedDim + " (n_embed x embed_dim)");
        parts.add((body.hasEncoder() ? "encoder" : "") + (body.hasEncoder() && body.hasDecoder() ? "+" : "")
                + (body.hasDecoder() ? "decoder" : ""));
        return String.join(" ", parts);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VqConfig v && body.equals(v.body) && java.util.Arrays.equals(encoderAttention,
                v.encoderAttention) && java.util.Arrays.equals(decoderAttention, v.decoderAttention)
                && codebookSize == v.codebookSize && embedDim == v.embedDim;
    }

    @Override
    public int hashCode() {
        return body.hashCode() * 31 + codebookSize * 7 + embedDim;
    }

    @Override
    public String toString() {
        return describe();
    }
}
