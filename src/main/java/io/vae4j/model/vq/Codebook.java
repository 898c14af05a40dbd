package io.vae4j.model.vq;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The VQ codebook (taming VectorQuantizer2, no remap): nearest-entry quantization and index lookup. The nearest
 * entry minimises |z - e_j|² = |z|² - 2 z·e_j + |e_j|², so it maximises z·e_j - |e_j|²/2: one 1x1 convolution with
 * the codebook as weights and -|e_j|²/2 as bias scores every entry on the backend's own kernels, then the highest
 * score wins, ties to the lowest index as torch's argmin.
 */
public final class Codebook implements AutoCloseable {
    /** About how many bytes of entry scores one band of positions makes at once. */
    private static final long SCORE_BYTES = 32L << 20;
    private final int size;
    private final int dim;
    /** The entries, row-major [size, dim], widened to float32. */
    private final float[] rows;
    private final Conv scores;
    /** The score convolution's weights, which prepared convolutions may read in place. */
    private final Tensor[] scoreWeights;

    Codebook(Backend backend, Tensor embedding) {
        this.size = embedding.dim(0);
        this.dim = embedding.dim(1);
        this.rows = embedding.toFloatArray();
        float[] bias = new float[size];
        for (int j = 0; j < size; j++) {
            double norm = 0;
            for (int c = 0; c < dim; c++) {
                norm += (double) rows[j * dim + c] * rows[j * dim + c];
            }
            bias[j] = (float) (-norm / 2);
        }
        this.scoreWeights = new Tensor[]{Tensor.of(rows, size, dim, 1, 1), Tensor.of(bias, size)};
        Map<String, Tensor> scorer = new LinkedHashMap<>();
        scorer.put("codebook.weight", scoreWeights[0]);
        scorer.put("codebook.bias", scoreWeights[1]);
        this.scores = new Conv(backend, new WeightSet("codebook", scorer), "codebook", dim, size,
                ConvGeometry.pointwise());
    }

    public int size() {
        return size;
    }

    public int dim() {
        return dim;
    }

    public long parameters() {
        return (long) size * dim;
    }

    /** The nearest entry's index for every position of z [B, dim, H, W], in [B, H, W] order. */
    public long[] nearest(Backend backend, Tensor z) {
        requireLatent(z);
        int batch = z.dim(0), h = z.dim(2), w = z.dim(3);
        int plane = h * w;
        long[] out = new long[batch * plane];
        // The scores hold one float per entry and position: bands of rows keep them near SCORE_BYTES.
        int rows = (int) Math.clamp(SCORE_BYTES / (4L * size * w), 1, h);
        for (int b = 0; b < batch; b++) {
            for (int y0 = 0; y0 < h; y0 += rows) {
                int n = Math.min(rows, h - y0), band = n * w;
                try (Tensor zb = rows(z, b, y0, n);
                     Tensor s = backend.toNchwConsuming(scores.forward(backend, zb))) {
                    for (int p = 0; p < band; p++) {
                        int best = 0;
                        float top = s.get(p);
                        for (int j = 1; j < size; j++) {
                            float v = s.get((long) j * band + p);
                            if (v > top) {
                                top = v;
                                best = j;
                            }
                        }
                        out[b * plane + y0 * w + p] = best;
                    }
                }
            }
        }
        return out;
    }

    /** Rows y0 .. y0 + n of image b of z, as [1, dim, n, w]. */
    private Tensor rows(Tensor z, int b, int y0, int n) {
        int h = z.dim(2), w = z.dim(3);
        Tensor out = Tensor.allocate(1, dim, n, w);
        for (int c = 0; c < dim; c++) {
            long from = (((long) b * dim + c) * h + y0) * w;
            for (int i = 0; i < n * w; i++) {
                out.set((long) c * n * w + i, z.get(from + i));
            }
        }
        return out;
    }

    /**
     * The indices of an already quantized latent [B, dim, H, W] (codebook rows, as {@link #quantize} gives them),
     * in [B, H, W] order: each position's row matched exactly, the lowest index among equal rows, as torch's
     * argmin on the unquantized latent gives (equal rows tie there too). A position that is no row gets its
     * nearest.
     */
    public long[] indicesOf(Backend backend, Tensor quantized) {
        requireLatent(quantized);
        Map<Row, Integer> first = new java.util.HashMap<>();
        for (int j = size - 1; j >= 0; j--) {
            first.put(new Row(Arrays.copyOfRange(rows, j * dim, (j + 1) * dim)), j);
        }
        int batch = quantized.dim(0), plane = quantized.dim(2) * quantized.dim(3);
        long[] out = new long[batch * plane];
        float[] entry = new float[dim];
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < plane; p++) {
                for (int c = 0; c < dim; c++) {
                    entry[c] = quantized.get(((long) b * dim + c) * plane + p);
                }
                Integer j = first.get(new Row(entry));
                if (j == null) {
                    return nearest(backend, quantized);
                }
                out[b * plane + p] = j;
            }
        }
        return out;
    }

    /** A codebook row as a hash key: equal when every float is bitwise equal. */
    private record Row(float[] values) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Row r && Arrays.equals(values, r.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }
    }

    /** z replaced by its nearest entries: what the reference's quantize gives the decoder. */
    public Tensor quantize(Backend backend, Tensor z) {
        return lookup(nearest(backend, z), z.dim(0), z.dim(2), z.dim(3), "latent");
    }

    /**
     * The entries for these indices as an NCHW latent [batch, dim, h, w].
     *
     * @param source names the indices in the error for one out of range
     */
    public Tensor lookup(long[] indices, int batch, int h, int w, String source) {
        int plane = h * w;
        if (indices.length != (long) batch * plane) {
            throw new IllegalArgumentException(indices.length + " indices for [" + batch + ", " + h + ", " + w + "]");
        }
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= size) {
                int b = i / plane, y = i % plane / w, x = i % w;
                throw new VaeException(source + ": code " + indices[i] + " at [" + b + ", " + y + ", " + x
                        + "] is out of range: the codebook has " + size + " entries (0.." + (size - 1) + ")");
            }
        }
        Tensor out = Tensor.allocate(batch, dim, h, w);
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < plane; p++) {
                int row = (int) indices[b * plane + p];
                for (int c = 0; c < dim; c++) {
                    out.set(((long) b * dim + c) * plane + p, rows[row * dim + c]);
                }
            }
        }
        return out;
    }

    private void requireLatent(Tensor z) {
        if (z.rank() != 4 || z.dim(1) != dim) {
            throw new VaeException("latent has shape " + Arrays.toString(z.shape()) + ", but the codebook's entries"
                    + " have " + dim + " channels: expected [N, " + dim + ", H, W]");
        }
    }

    @Override
    public void close() {
        scores.close();
        for (Tensor t : scoreWeights) {
            t.close();
        }
    }
}
