package io.vae4j.backend;

import io.vae4j.tensor.Tensor;

import java.util.SplittableRandom;

/** Seeded random tensors for kernel tests. */
public final class Random4 {
    private final SplittableRandom random;

    public Random4(long seed) {
        this.random = new SplittableRandom(seed);
    }

    public Tensor normal(float scale, int... shape) {
        Tensor t = Tensor.allocate(shape);
        for (long i = 0; i < t.numel(); i++) {
            t.set(i, (float) (gaussian() * scale));
        }
        return t;
    }

    private double gaussian() {
        double u = random.nextDouble(1e-12, 1), v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    public static float maxAbsDiff(Tensor a, Tensor b) {
        float max = 0;
        for (long i = 0; i < a.numel(); i++) {
            float d = Math.abs(a.get(i) - b.get(i));
            if (!(d <= max)) {
                max = Float.isNaN(d) ? Float.POSITIVE_INFINITY : d;
            }
        }
        return max;
    }
}
