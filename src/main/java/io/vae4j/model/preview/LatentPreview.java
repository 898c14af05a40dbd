package io.vae4j.model.preview;

import io.vae4j.VaeException;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A preview of a latent without any decoder: each latent pixel becomes one RGB pixel through the family's linear
 * projection ({@link PreviewFactors}), optionally enlarged by pixel repetition. Microseconds to milliseconds where a
 * TAESD decode takes tens to hundreds, at the cost of 1/8 resolution and approximate colours.
 */
public final class LatentPreview {
    /** Largest enlargement: 8 gives the decoded image's size for the 8x VAEs. */
    public static final int MAX_SCALE = 16;

    private LatentPreview() {
    }

    /**
     * Diffusion-space latent [N, C, h, w] to RGB [N, 3, h·scale, w·scale] in [-1, 1] (not clamped; writers clamp),
     * nearest-neighbour enlarged by {@code scale}.
     */
    public static Tensor project(Tensor latent, PreviewFactors f, int scale) {
        int[] s = latent.shape();
        if (s.length != 4 || s[1] != f.channels()) {
            throw new VaeException("latent " + Arrays.toString(s) + ": this family's preview takes " + f.channels()
                    + "-channel latents [N, " + f.channels() + ", h, w]");
        }
        if (scale < 1 || scale > MAX_SCALE) {
            throw new VaeException("preview scale must be 1 to " + MAX_SCALE + ", got " + scale);
        }
        if ((long) s[1] * s[2] * s[3] > Integer.MAX_VALUE - 8
                || (long) s[2] * s[3] * scale * scale > (Integer.MAX_VALUE - 8) / 3) {
            throw new VaeException("latent " + Arrays.toString(s) + " is too large for a preview at scale " + scale);
        }
        int n = s[0], c = s[1], h = s[2], w = s[3], plane = h * w;
        Tensor out = Tensor.allocate(n, 3, h * scale, w * scale);
        float[] z = new float[c * plane];
        float[] rgb = new float[plane];
        float[] wide = new float[w * scale];
        for (int b = 0; b < n; b++) {
            read(latent, (long) b * c * plane, z);
            for (int ch = 0; ch < 3; ch++) {
                Arrays.fill(rgb, f.bias()[ch]);
                for (int k = 0; k < c; k++) {
                    float weight = f.factors()[k][ch];
                    int base = k * plane;
                    for (int p = 0; p < plane; p++) {
                        rgb[p] += weight * z[base + p];
                    }
                }
                write(out, ((long) b * 3 + ch) * plane * scale * scale, rgb, h, w, scale, wide);
            }
        }
        return out;
    }

    private static void read(Tensor t, long offset, float[] into) {
        if (t.dtype() == DType.F32) {
            MemorySegment.copy(t.data(), DType.FLOAT, offset * 4, into, 0, into.length);
        } else {
            for (int i = 0; i < into.length; i++) {
                into[i] = t.get(offset + i);
            }
        }
    }

    /** One h x w plane into the output at {@code offset}, each pixel repeated scale x scale times. */
    private static void write(Tensor out, long offset, float[] plane, int h, int w, int scale, float[] wide) {
        MemorySegment seg = out.data();
        if (scale == 1) {
            MemorySegment.copy(plane, 0, seg, DType.FLOAT, offset * 4, plane.length);
            return;
        }
        long row = offset;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                Arrays.fill(wide, x * scale, x * scale + scale, plane[y * w + x]);
            }
            for (int r = 0; r < scale; r++, row += wide.length) {
                MemorySegment.copy(wide, 0, seg, DType.FLOAT, row * 4, wide.length);
            }
        }
    }
}
