package io.vae4j.model.interposer;

import io.vae4j.tensor.Tensor;

/**
 * torch's nn.Upsample(scale_factor=s, mode="nearest") for the one s below 1 the interposers use (0.5, Stable
 * Cascade's larger latents): output size floor(n·s), output pixel i reads input pixel floor(i / s). Only the 64-wide
 * activation of one latent passes through it, so a plain loop does.
 */
final class Resample {
    private Resample() {
    }

    /** Takes ownership of {@code x} (NCHW float32) and returns the resampled tensor. */
    static Tensor nearest(Tensor x, double scale) {
        try (x) {
            int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
            int oh = (int) Math.floor(h * scale), ow = (int) Math.floor(w * scale);
            Tensor out = Tensor.allocate(n, c, oh, ow);
            long o = 0;
            for (int p = 0; p < n * c; p++) {
                long plane = (long) p * h * w;
                for (int y = 0; y < oh; y++) {
                    long row = plane + (long) Math.min(h - 1, (int) Math.floor(y / scale)) * w;
                    for (int xi = 0; xi < ow; xi++) {
                        out.set(o++, x.get(row + Math.min(w - 1, (int) Math.floor(xi / scale))));
                    }
                }
            }
            return out;
        }
    }
}
