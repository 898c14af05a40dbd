package io.vae4j.model.consistency;

import io.vae4j.backend.Backend;
import io.vae4j.tensor.Tensor;

/**
 * The resampling the consistency decoder needs beyond the backend's kernels: 2x2 average pooling (its UNet's
 * downsampling blocks, a cheap step between convolutions) and nearest upsampling of the latent by the VAE's factor
 * (once per decode). Plain loops over NCHW, the same for every backend.
 */
final class Resampling {
    private Resampling() {
    }

    /** avg_pool2d(x, 2, 2): [N, C, H, W] to [N, C, H/2, W/2] (an odd last row or column is dropped, as torch does). */
    static Tensor averagePool2x2(Backend b, Tensor x) {
        Tensor in = b.toNchw(x);
        try {
            int planes = in.dim(0) * in.dim(1), h = in.dim(2), w = in.dim(3), oh = h / 2, ow = w / 2;
            Tensor out = Tensor.uninitialized(in.dim(0), in.dim(1), oh, ow);
            for (int p = 0; p < planes; p++) {
                long src = (long) p * h * w, dst = (long) p * oh * ow;
                for (int y = 0; y < oh; y++) {
                    long r0 = src + (long) 2 * y * w, r1 = r0 + w, o = dst + (long) y * ow;
                    for (int xx = 0; xx < ow; xx++) {
                        float s = in.get(r0 + 2 * xx) + in.get(r0 + 2 * xx + 1) + in.get(r1 + 2 * xx)
                                + in.get(r1 + 2 * xx + 1);
                        out.set(o + xx, s * 0.25f);
                    }
                }
            }
            return out;
        } finally {
            if (in != x) {
                in.close();
            }
        }
    }

    /** Nearest upsampling of [N, C, h, w] by {@code f} along both axes into channels [at, at + C) of {@code out}. */
    static void nearestInto(Tensor z, int f, Tensor out, int at) {
        int n = z.dim(0), c = z.dim(1), h = z.dim(2), w = z.dim(3), oc = out.dim(1), oh = h * f, ow = w * f;
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                long src = ((long) i * c + ch) * h * w, dst = ((long) i * oc + at + ch) * oh * ow;
                for (int y = 0; y < oh; y++) {
                    long row = src + (long) (y / f) * w, o = dst + (long) y * ow;
                    for (int xx = 0; xx < ow; xx++) {
                        out.set(o + xx, z.get(row + xx / f));
                    }
                }
            }
        }
    }
}
