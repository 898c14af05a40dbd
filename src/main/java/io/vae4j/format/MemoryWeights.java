package io.vae4j.format;

import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.SequencedMap;

/** Weights made in memory (random models for benchmarks and tests); owns its tensors. */
public final class MemoryWeights implements WeightFile {
    private final Path path;
    private final SequencedMap<String, Tensor> tensors;

    public MemoryWeights(String name, SequencedMap<String, Tensor> tensors) {
        this.path = Path.of(name);
        this.tensors = new LinkedHashMap<>(tensors);
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public SequencedMap<String, Tensor> tensors() {
        return tensors;
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
    }
}
