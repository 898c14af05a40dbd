package io.vae4j.format;

import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.SequencedMap;

/**
 * A set of named tensors read from one file (safetensors, PyTorch zip). Tensors are views into memory the file
 * owns (usually a memory map), valid until {@link #close()}.
 */
public interface WeightFile extends AutoCloseable {

    Path path();

    /** Every tensor, by its name in the file, in the file's order. */
    SequencedMap<String, Tensor> tensors();

    /** Free-form string metadata, empty when the format has none. */
    default java.util.Map<String, String> metadata() {
        return java.util.Map.of();
    }

    /** Entries present in the file but not in {@link #tensors()} (an integer dtype, say), with the reason. */
    default java.util.Map<String, String> skipped() {
        return java.util.Map.of();
    }

    @Override
    void close();
}
