package io.vae4j.model.taesd;

import io.vae4j.VaeException;
import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The architecture of a TAESD-family autoencoder, as read off its tensors: latent channels, whether it is the 32x
 * variant (taesana), whether its lowest-resolution Blocks have the GroupNorm pool branch (taef2), and which halves
 * the file holds.
 */
public record TaesdConfig(int latentChannels, boolean f32, boolean midblockGn, boolean hasEncoder,
                          boolean hasDecoder) {
    /** Module index of the last encoder / decoder module in the 8x architecture; the 32x one has more. */
    private static final int LAST_ENCODER_8X = 14, LAST_DECODER_8X = 19, LAST_ENCODER_32X = 17;

    /** Image pixels per latent pixel along each axis. */
    public int downscale() {
        return f32 ? 32 : 8;
    }

    public TaesdVariant variant() {
        return TaesdVariant.of(this);
    }

    /** Infers the configuration from the tensors, or explains what does not fit. */
    public static TaesdConfig infer(WeightSet w, TaesdLayout layout) {
        List<String> names = new ArrayList<>(w.names());
        boolean gn = names.stream().anyMatch(n -> n.contains(".pool."));
        int encoderLatent = -1, decoderLatent = -1;
        boolean encoderF32 = false, decoderF32 = false;
        if (layout.hasEncoder()) {
            int last = layout.lastIndex(names, true);
            encoderF32 = last > LAST_ENCODER_8X;
            String out = layout.encoder(last, "weight");
            Tensor t = w.peek(out);
            if (t == null || t.rank() != 4) {
                throw new VaeException(w.source() + ": TAESD encoder without its output convolution: its last module"
                        + " (" + layout.encoderModule(last) + ") has no 4-d '" + out + "'; expected module "
                        + LAST_ENCODER_8X + " (or " + LAST_ENCODER_32X + " in the 32x variant) to be conv(64, z)");
            }
            encoderLatent = t.dim(0);
        }
        if (layout.hasDecoder()) {
            decoderF32 = layout.lastIndex(names, false) > LAST_DECODER_8X;
            String in = layout.decoder(1, "weight");
            Tensor t = w.peek(in);
            if (t == null || t.rank() != 4) {
                throw new VaeException(w.source() + ": TAESD decoder without its input convolution: expected '" + in
                        + "' to be a [" + (decoderF32 ? 256 : 64) + ", z, 3, 3] weight");
            }
            decoderLatent = t.dim(1);
        }
        if (layout.hasEncoder() && layout.hasDecoder()) {
            if (encoderLatent != decoderLatent) {
                throw new VaeException(w.source() + ": TAESD encoder and decoder do not fit together: the encoder"
                        + " makes " + encoderLatent + "-channel latents, the decoder takes " + decoderLatent);
            }
            if (encoderF32 != decoderF32) {
                throw new VaeException(w.source() + ": TAESD encoder and decoder do not fit together: the encoder"
                        + " downscales " + (encoderF32 ? 32 : 8) + "x, the decoder upscales " + (decoderF32 ? 32 : 8)
                        + "x");
            }
        }
        int z = layout.hasEncoder() ? encoderLatent : decoderLatent;
        if (z < 1) {
            throw new VaeException(w.source() + ": TAESD model with " + z + " latent channels");
        }
        return new TaesdConfig(z, layout.hasEncoder() ? encoderF32 : decoderF32, gn, layout.hasEncoder(),
                layout.hasDecoder());
    }

    public String describe() {
        return variant().id + " (z=" + latentChannels + ", " + downscale() + "x"
                + (midblockGn ? ", mid-block GroupNorm" : "") + ") "
                + (hasEncoder ? "encoder" : "") + (hasEncoder && hasDecoder ? "+" : "") + (hasDecoder ? "decoder" : "");
    }

    @Override
    public String toString() {
        return describe();
    }
}
