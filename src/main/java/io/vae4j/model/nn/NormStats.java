package io.vae4j.model.nn;

import io.vae4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * GroupNorm statistics shared across separate runs of a graph, for tiled decoding: a tile alone has different
 * statistics from the whole image, so every tile must be normalised with the same, global ones.
 *
 * <p>A run of a graph inside {@link #record(Supplier)} or {@link #frozen(Supplier)} (a {@link ScopedValue} bound
 * on the calling thread; graphs call their layers on that thread) changes what each {@link GroupNorm} layer does:
 * <ul>
 *   <li>{@link Mode#RECORD}: the layer computes its input's per-group mean and 1/sqrt(var + eps) (over all batch
 *   items and pixels of the group, in double), remembers them keyed by the layer's identity, and normalises with
 *   them. A layer run twice in one recording keeps its first statistics.</li>
 *   <li>{@link Mode#FROZEN}: the layer normalises with the statistics recorded for it, whatever its input; a layer
 *   with nothing recorded is an error.</li>
 * </ul>
 * Outside both (the default) GroupNorm computes the statistics of its input as usual: nothing else changes.
 * The frozen statistics reach the backend through {@link io.vae4j.backend.GroupNormSpec}'s mean and rstd.
 * Thread-safe: a recording may be frozen on several threads at once.
 */
public final class NormStats {
    public enum Mode { RECORD, FROZEN }

    private static final ScopedValue<NormStats> CURRENT = ScopedValue.newInstance();

    private final Map<GroupNorm, float[][]> stats = Collections.synchronizedMap(new IdentityHashMap<>());
    /** The layers in the order they first ran: the same for every run of one graph, whatever its input's size. */
    private final List<GroupNorm> order = Collections.synchronizedList(new ArrayList<>());
    private volatile Mode mode = Mode.RECORD;

    /** An empty recording. */
    public NormStats() {
    }

    /** Runs {@code work} with every GroupNorm recording its statistics into this object. */
    public <T> T record(Supplier<T> work) {
        mode = Mode.RECORD;
        return ScopedValue.where(CURRENT, this).call(work::get);
    }

    /** Runs {@code work} with every GroupNorm using the statistics recorded here. */
    public <T> T frozen(Supplier<T> work) {
        mode = Mode.FROZEN;
        return ScopedValue.where(CURRENT, this).call(work::get);
    }

    /** GroupNorm layers recorded. */
    public int size() {
        return stats.size();
    }

    /**
     * The recorded statistics as plain values, {mean, rstd} per layer in the order the layers first ran: what
     * another JVM's copy of the same model can take with {@link #withValues}.
     */
    public List<float[][]> values() {
        synchronized (stats) {
            List<float[][]> out = new ArrayList<>(order.size());
            for (GroupNorm layer : order) {
                float[][] s = stats.get(layer);
                out.add(new float[][]{s[0].clone(), s[1].clone()});
            }
            return out;
        }
    }

    /**
     * A recording of this recording's layers holding {@code values} instead (from {@link #values()} of a recording
     * made with another copy of the same model): this one need only have run the graph once, on any input.
     *
     * @throws IllegalArgumentException when the values do not fit these layers (another model)
     */
    public NormStats withValues(List<float[][]> values) {
        NormStats out = new NormStats();
        synchronized (stats) {
            if (values.size() != order.size()) {
                throw new IllegalArgumentException("statistics for " + values.size() + " group norm layers, this"
                        + " model has " + order.size());
            }
            for (int i = 0; i < values.size(); i++) {
                GroupNorm layer = order.get(i);
                float[][] v = values.get(i), own = stats.get(layer);
                if (v.length != 2 || v[0].length != own[0].length || v[1].length != own[1].length) {
                    throw new IllegalArgumentException("statistics of group norm layer " + i + " have "
                            + v[0].length + " groups, this model's have " + own[0].length);
                }
                out.order.add(layer);
                out.stats.put(layer, new float[][]{v[0].clone(), v[1].clone()});
            }
        }
        return out;
    }

    /** The statistics in force on this thread, or null outside {@link #record} and {@link #frozen}. */
    static NormStats current() {
        return CURRENT.isBound() ? CURRENT.get() : null;
    }

    /** {mean[groups], rstd[groups]} for {@code layer} on input {@code x}, per the mode (see the class comment). */
    float[][] statsFor(GroupNorm layer, Tensor x, int groups, float eps) {
        if (mode == Mode.FROZEN) {
            float[][] s = stats.get(layer);
            if (s == null) {
                throw new IllegalStateException("no recorded group norm statistics for a layer of "
                        + x.dim(1) + " channels");
            }
            return s;
        }
        return stats.computeIfAbsent(layer, l -> {
            order.add(l);
            return compute(x, groups, eps);
        });
    }

    /** Per-group mean and 1/sqrt(var + eps) of x [N, C, H, W], over every batch item; two passes in double. */
    static float[][] compute(Tensor x, int groups, float eps) {
        int n = x.dim(0), c = x.dim(1), cpg = c / groups;
        long plane = (long) x.dim(2) * x.dim(3), count = (long) n * cpg * plane;
        float[] mean = new float[groups], rstd = new float[groups];
        for (int g = 0; g < groups; g++) {
            double sum = 0;
            for (int b = 0; b < n; b++) {
                long off = ((long) b * c + (long) g * cpg) * plane;
                sum += sums(x, off, cpg * plane, 0, false);
            }
            double mu = sum / count, sq = 0;
            for (int b = 0; b < n; b++) {
                long off = ((long) b * c + (long) g * cpg) * plane;
                sq += sums(x, off, cpg * plane, mu, true);
            }
            mean[g] = (float) mu;
            rstd[g] = (float) (1.0 / Math.sqrt(sq / count + eps));
        }
        return new float[][]{mean, rstd};
    }

    /** Σ x, or Σ (x - mu)² when {@code squares}: float partial sums per 1024 values, double across them. */
    private static double sums(Tensor x, long off, long count, double mu, boolean squares) {
        double total = 0;
        float m = (float) mu;
        for (long j0 = 0; j0 < count; j0 += 1024) {
            long j1 = Math.min(count, j0 + 1024);
            float acc = 0;
            for (long j = j0; j < j1; j++) {
                float v = x.get(off + j);
                if (squares) {
                    float d = v - m;
                    acc += d * d;
                } else {
                    acc += v;
                }
            }
            total += acc;
        }
        return total;
    }
}
