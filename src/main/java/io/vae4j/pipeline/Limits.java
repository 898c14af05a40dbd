package io.vae4j.pipeline;

import io.vae4j.VaeException;
import io.vae4j.model.Family;
import io.vae4j.model.Vae;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;

/** Input checks shared by the commands: shapes, sizes and values a model must refuse before running. */
public final class Limits {
    /** Pixels per output image an untiled run accepts by default: 4096x4096. */
    public static final long DEFAULT_MAX_PIXELS = 4096L * 4096;
    /** Pixels per output image a tiled run accepts by default: 65536x65536 (memory is bounded by the tile). */
    public static final long TILED_MAX_PIXELS = 65536L * 65536;

    private Limits() {
    }

    public static void checkLatent(Object file, Tensor z, Vae vae, long maxPixels) {
        if (z.rank() != 4) {
            throw new VaeException(file + ": latent must be [N, C, h, w], got " + Arrays.toString(z.shape()));
        }
        if (z.dim(0) == 0 || z.dim(2) == 0 || z.dim(3) == 0) {
            throw new VaeException(file + ": latent is empty " + Arrays.toString(z.shape()));
        }
        if (z.dim(1) != vae.latentChannels()) {
            throw new VaeException(file + ": latent has " + z.dim(1) + " channels, but the model expects "
                    + vae.latentChannels() + " (a " + z.dim(1) + "-channel latent looks like "
                    + Family.guessFromChannels(z.dim(1)) + ")");
        }
        long pixels = (long) z.dim(2) * z.dim(3) * vae.downscale() * vae.downscale();
        if (pixels > maxPixels) {
            throw new VaeException(file + ": latent " + Arrays.toString(z.shape()) + " decodes to " + pixels
                    + " pixels per image, over the limit of " + maxPixels + " (raise it with --max-pixels)");
        }
        long bad = countNonFinite(z);
        if (bad > 0) {
            throw new VaeException(file + ": latent has " + bad + " NaN or infinite value(s) out of " + z.numel()
                    + "; refusing to decode it");
        }
    }

    public static void checkImage(Object file, Tensor image, Vae vae, long maxPixels) {
        if (image.rank() != 4 || image.dim(1) != 3) {
            throw new VaeException(file + ": image must be [N, 3, H, W], got " + Arrays.toString(image.shape()));
        }
        if (image.dim(0) == 0 || image.dim(2) < vae.downscale() || image.dim(3) < vae.downscale()) {
            throw new VaeException(file + ": image " + Arrays.toString(image.shape()) + " is too small; each side"
                    + " needs at least " + vae.downscale() + " pixels");
        }
        long pixels = (long) image.dim(2) * image.dim(3);
        if (pixels > maxPixels) {
            throw new VaeException(file + ": image has " + pixels + " pixels, over the limit of " + maxPixels
                    + " (raise it with --max-pixels)");
        }
        long bad = countNonFinite(image);
        if (bad > 0) {
            throw new VaeException(file + ": image has " + bad + " NaN or infinite value(s); refusing to encode it");
        }
    }

    public static long countNonFinite(Tensor t) {
        long bad = 0;
        for (long i = 0; i < t.numel(); i++) {
            if (!Float.isFinite(t.get(i))) {
                bad++;
            }
        }
        return bad;
    }
}
