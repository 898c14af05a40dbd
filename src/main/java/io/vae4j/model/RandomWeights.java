package io.vae4j.model;

import io.vae4j.format.MemoryWeights;
import io.vae4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;

/**
 * Random weights for given names and shapes: uniform with variance 1/fan-in for convolutions (activations keep
 * their scale through a deep graph), ones and zeros for norms. Speed does not depend on the values, so benchmarks
 * of full-size models run on these.
 */
public final class RandomWeights {
    private RandomWeights() {
    }

    public static MemoryWeights of(String name, Map<String, int[]> shapes, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : shapes.entrySet()) {
            int[] shape = e.getValue();
            Tensor t = Tensor.allocate(shape);
            boolean norm = e.getKey().contains("norm");
            if (shape.length == 4) {
                double bound = Math.sqrt(3.0 / ((long) shape[1] * shape[2] * shape[3]));
                for (long i = 0; i < t.numel(); i++) {
                    t.set(i, (float) random.nextDouble(-bound, bound));
                }
            } else if (norm && e.getKey().endsWith(".weight")) {
                for (long i = 0; i < t.numel(); i++) {
                    t.set(i, 1f);
                }
            } else if (!norm) {
                for (long i = 0; i < t.numel(); i++) {
                    t.set(i, (float) random.nextDouble(-0.05, 0.05));
                }
            }
            tensors.put(e.getKey(), t);
        }
        return new MemoryWeights(name, tensors);
    }
}
