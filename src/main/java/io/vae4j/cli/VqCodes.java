package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Vae;
import io.vae4j.model.vq.Codebook;
import io.vae4j.model.vq.VqModel;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;

/** The VQ options of encode and decode: codebook indices out and in, and quantizing a latent before decoding. */
final class VqCodes {
    private VqCodes() {
    }

    /** The model as a VQ autoencoder, or one line saying that {@code option} needs one. */
    static VqModel require(Vae vae, String option) {
        if (vae instanceof VqModel vq) {
            return vq;
        }
        throw new VaeException(option + " needs a VQ autoencoder (one with a codebook, quantize.embedding.weight);"
                + " " + vae.info().source() + " is " + vae.info().architecture().split(" ")[0]);
    }

    /** Writes the indices [B, H, W] (int64) of a quantized latent [B, C, H, W]. */
    static void writeIndices(VqModel vq, Tensor quantized, Path out) {
        long[] indices = vq.codebook().indicesOf(vq.backend(), quantized);
        Npy.writeInt64(out, new Npy.Int64Array(new int[]{quantized.dim(0), quantized.dim(2), quantized.dim(3)},
                indices));
    }

    /** The latent [B, embed_dim, H, W] of the codebook rows that an int64 .npy of indices [B, H, W] names. */
    static Tensor readIndices(VqModel vq, Path file) {
        Npy.Int64Array a = Npy.readInt64(file);
        int[] s = a.shape();
        if (s.length != 3 || s[0] < 1 || s[1] < 1 || s[2] < 1) {
            throw new VaeException(file + ": indices have shape " + Arrays.toString(s) + ", expected [B, H, W]"
                    + " (int64 codebook indices, each side at least 1)");
        }
        Codebook codebook = vq.codebook();
        return codebook.lookup(a.values(), s[0], s[1], s[2], file.toString());
    }

    /**
     * The model that decodes: a VQ model without its quantization where the latent is codebook rows already
     * ({@code --indices}) or {@code --no-quantize} asks for it; otherwise the model itself.
     */
    static Vae decoding(Vae vae, boolean noQuantize, boolean codes) {
        if (noQuantize) {
            return require(vae, "--no-quantize").withoutQuantization();
        }
        return codes && vae instanceof VqModel vq ? vq.withoutQuantization() : vae;
    }
}
