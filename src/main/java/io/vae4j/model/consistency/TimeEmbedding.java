package io.vae4j.model.consistency;

import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;

/**
 * The UNet's timestep embedding (diffusers UNet2DModel, time_embedding_type "learned"): row t of a learned table
 * [steps, C0], then linear(C0 → 4·C0), SiLU, linear(4·C0 → 4·C0). A few thousand values computed once per
 * sampling step, the same for every image of a batch: plain Java, no backend kernel.
 */
final class TimeEmbedding {
    private final Tensor table;
    private final Linear first;
    private final Linear second;

    TimeEmbedding(WeightSet w, int steps, int channels) {
        table = w.take("time_proj.weight", steps, channels).copyF32();
        first = new Linear(w, "time_embedding.linear_1", channels, 4 * channels);
        second = new Linear(w, "time_embedding.linear_2", 4 * channels, 4 * channels);
    }

    int width() {
        return second.out();
    }

    int steps() {
        return table.dim(0);
    }

    /** The embedding of timestep t: [4·C0]. */
    float[] at(int t) {
        int c = table.dim(1);
        float[] row = new float[c];
        for (int i = 0; i < c; i++) {
            row[i] = table.get((long) t * c + i);
        }
        return second.apply(silu(first.apply(row)));
    }

    long parameters() {
        return table.numel() + first.parameters() + second.parameters();
    }

    static float[] silu(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (x[i] / (1 + Math.exp(-x[i])));
        }
        return out;
    }

    void close() {
        table.close();
        first.close();
        second.close();
    }

    /** y = W·x + b, for vectors: sums in double, rounded once. */
    static final class Linear {
        private final Tensor weight;
        private final Tensor bias;

        Linear(WeightSet w, String name, int in, int out) {
            weight = w.take(name + ".weight", out, in).copyF32();
            bias = w.take(name + ".bias", out).copyF32();
        }

        int out() {
            return weight.dim(0);
        }

        float[] apply(float[] x) {
            int out = weight.dim(0), in = weight.dim(1);
            float[] y = new float[out];
            for (int o = 0; o < out; o++) {
                double s = bias.get(o);
                long row = (long) o * in;
                for (int i = 0; i < in; i++) {
                    s += (double) weight.get(row + i) * x[i];
                }
                y[o] = (float) s;
            }
            return y;
        }

        long parameters() {
            return weight.numel() + bias.numel();
        }

        void close() {
            weight.close();
            bias.close();
        }
    }
}
