package io.vae4j.model;

import io.vae4j.VaeException;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensors of one model under canonical names, with the file they came from for error messages. Builders take
 * tensors by name and shape; afterwards {@link #unused()} lists what nobody took, so stray tensors are reported
 * instead of silently ignored.
 */
public final class WeightSet {
    private final String source;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> skipped;
    private final Set<String> taken = new LinkedHashSet<>();

    public WeightSet(String source, Map<String, Tensor> tensors) {
        this(source, tensors, Map.of());
    }

    /** @param skipped entries of the file that were not loaded (name as in the file → why), for error messages */
    public WeightSet(String source, Map<String, Tensor> tensors, Map<String, String> skipped) {
        this.source = source;
        this.tensors = new LinkedHashMap<>(tensors);
        this.skipped = skipped;
    }

    public String source() {
        return source;
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    public Tensor peek(String name) {
        return tensors.get(name);
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    /** The tensor called {@code name}, which must have exactly {@code shape}. */
    public Tensor take(String name, int... shape) {
        Tensor t = tensors.get(name);
        if (t == null) {
            for (var e : skipped.entrySet()) {
                if (e.getKey().endsWith(name)) {
                    throw new VaeException(source + ": tensor '" + e.getKey() + "' cannot be used (" + e.getValue()
                            + "); expected F32, F16 or BF16");
                }
            }
            throw new VaeException(source + ": missing tensor '" + name + "' (expected shape "
                    + Arrays.toString(shape) + ")");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new VaeException(source + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        taken.add(name);
        return t;
    }

    /** Names present but never taken, sorted. */
    public Set<String> unused() {
        Set<String> rest = new TreeSet<>(tensors.keySet());
        rest.removeAll(taken);
        return rest;
    }

    /** The stored dtypes, sorted and joined with +, e.g. "F16" or "BF16+F32". */
    public String dtypes() {
        return String.join("+", tensors.values().stream().map(t -> t.dtype().name()).distinct().sorted().toList());
    }

    /** Bytes of the tensors as stored. */
    public long storedBytes() {
        return tensors.values().stream().mapToLong(t -> t.numel() * t.dtype().bytes).sum();
    }

    /** Bytes that widening the 16-bit tensors to float32 at load allocates. */
    public long convertedBytes() {
        return tensors.values().stream().filter(t -> t.dtype() != io.vae4j.tensor.DType.F32)
                .mapToLong(t -> t.numel() * 4).sum();
    }

    /** Fails when tensors were left over: a file with extra tensors is not the model we think it is. */
    public void requireAllUsed() {
        Set<String> rest = unused();
        if (!rest.isEmpty()) {
            String list = String.join(", ", rest.stream().limit(5).toList());
            throw new VaeException(source + ": " + rest.size() + " unexpected tensor(s) for this architecture: "
                    + list + (rest.size() > 5 ? ", ..." : ""));
        }
    }
}
