package io.vae4j.format.safetensors;

import io.vae4j.VaeException;
import io.vae4j.format.json.Json;
import io.vae4j.format.json.JsonException;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates a safetensors JSON header against the size of the data area that follows it. Every check
 * a well-formed file passes is done here, so that {@link SafetensorsFile} can slice the mapping without further
 * bounds reasoning. Each failure names the file and the tensor or field.
 */
record SafetensorsHeader(List<Entry> entries, Map<String, String> metadata) {

    static final String METADATA_KEY = "__metadata__";

    /**
     * Every dtype the safetensors format defines, with its element size. Whole checkpoints hold integer tensors
     * (step counters, position ids) beside the weights, so known dtypes are validated and then passed over;
     * only a dtype the format does not define makes the file invalid.
     */
    static final Map<String, Integer> KNOWN_DTYPES = Map.ofEntries(Map.entry("BOOL", 1), Map.entry("U8", 1),
            Map.entry("I8", 1), Map.entry("F8_E5M2", 1), Map.entry("F8_E4M3", 1), Map.entry("I16", 2),
            Map.entry("U16", 2), Map.entry("F16", 2), Map.entry("BF16", 2), Map.entry("I32", 4),
            Map.entry("U32", 4), Map.entry("F32", 4), Map.entry("F64", 8), Map.entry("I64", 8),
            Map.entry("U64", 8));

    /**
     * One tensor; offsets are relative to the start of the data area, as in the file. {@code dtype} is null for a
     * known dtype the runtime does not compute with ({@code dtypeName} says which).
     */
    record Entry(String name, String dtypeName, DType dtype, int[] shape, long begin, long end) {
    }

    static SafetensorsHeader parse(Path file, byte[] headerBytes, long dataSize) {
        Object root = parseJson(file, headerBytes);
        if (!(root instanceof Map<?, ?> map)) {
            throw fail(file, "header must be a JSON object, got " + typeOf(root));
        }
        Map<String, String> metadata = Map.of();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals(METADATA_KEY)) {
                metadata = metadata(file, e.getValue());
            } else {
                entries.add(entry(file, name, e.getValue(), dataSize));
            }
        }
        checkOverlaps(file, entries);
        return new SafetensorsHeader(List.copyOf(entries), metadata);
    }

    private static Object parseJson(Path file, byte[] headerBytes) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(headerBytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw fail(file, "header is not valid UTF-8");
        }
        try {
            return Json.parse(text);
        } catch (JsonException e) {
            throw new VaeException(file + ": header is not valid JSON: " + e.getMessage(), e);
        }
    }

    private static Map<String, String> metadata(Path file, Object value) {
        if (!(value instanceof Map<?, ?> map)) {
            throw fail(file, METADATA_KEY + " must be an object of strings, got " + typeOf(value));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw fail(file, METADATA_KEY + " value of '" + e.getKey() + "' must be a string, got "
                        + typeOf(e.getValue()));
            }
            out.put((String) e.getKey(), s);
        }
        return Collections.unmodifiableMap(out);
    }

    private static Entry entry(Path file, String name, Object value, long dataSize) {
        if (!(value instanceof Map<?, ?> info)) {
            throw fail(file, "tensor '" + name + "': entry must be an object, got " + typeOf(value));
        }
        String dtypeName = dtype(file, name, info.get("dtype"));
        DType dtype = DType.parseSafetensors(dtypeName);
        int[] shape = shape(file, name, info.get("shape"));
        long[] offsets = offsets(file, name, info.get("data_offsets"));
        long begin = offsets[0];
        long end = offsets[1];
        String range = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) {
            throw fail(file, "tensor '" + name + "': " + range + " has begin > end");
        }
        if (end > dataSize) {
            throw fail(file, "tensor '" + name + "': " + range + " ends beyond the data area of " + dataSize
                    + " bytes");
        }
        long need = byteSize(file, name, KNOWN_DTYPES.get(dtypeName), shape);
        if (end - begin != need) {
            throw fail(file, "tensor '" + name + "': " + range + " spans " + (end - begin) + " bytes but "
                    + dtypeName + Arrays.toString(shape) + " needs " + need);
        }
        return new Entry(name, dtypeName, dtype, shape, begin, end);
    }

    private static String dtype(Path file, String name, Object value) {
        if (!(value instanceof String s)) {
            throw fail(file, "tensor '" + name + "': dtype must be a string, got " + typeOf(value));
        }
        if (!KNOWN_DTYPES.containsKey(s)) {
            throw fail(file, "unknown dtype " + Json.write(s) + " for tensor '" + name + "' (safetensors defines: "
                    + String.join(", ", KNOWN_DTYPES.keySet().stream().sorted().toList()) + ")");
        }
        return s;
    }

    private static int[] shape(Path file, String name, Object value) {
        if (!(value instanceof List<?> list)) {
            throw fail(file, "tensor '" + name + "': shape must be an array of non-negative integers, got "
                    + typeOf(value));
        }
        int[] shape = new int[list.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(list.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                throw fail(file, "tensor '" + name + "': shape must be an array of non-negative integers up to "
                        + Integer.MAX_VALUE + ", got " + Json.write(list));
            }
            shape[i] = (int) (long) d;
        }
        return shape;
    }

    private static long[] offsets(Path file, String name, Object value) {
        if (value instanceof List<?> list && list.size() == 2
                && list.get(0) instanceof Long b && b >= 0 && list.get(1) instanceof Long e && e >= 0) {
            return new long[] {b, e};
        }
        throw fail(file, "tensor '" + name + "': data_offsets must be [begin, end] with non-negative integers, got "
                + (value instanceof List<?> ? Json.write(value) : typeOf(value)));
    }

    private static long byteSize(Path file, String name, int elementBytes, int[] shape) {
        try {
            return Math.multiplyExact(Tensor.numel(shape), elementBytes);
        } catch (ArithmeticException e) {
            throw fail(file, "tensor '" + name + "': shape " + Arrays.toString(shape) + " is too large");
        }
    }

    /** Empty tensors occupy no bytes, so they overlap nothing even when their offset lies inside another tensor. */
    private static void checkOverlaps(Path file, List<Entry> entries) {
        List<Entry> sorted = entries.stream().filter(e -> e.end > e.begin)
                .sorted(Comparator.comparingLong(Entry::begin)).toList();
        for (int i = 1; i < sorted.size(); i++) {
            Entry a = sorted.get(i - 1);
            Entry b = sorted.get(i);
            if (b.begin < a.end) {
                throw fail(file, "tensors '" + a.name + "' [" + a.begin + ", " + a.end + "] and '" + b.name + "' ["
                        + b.begin + ", " + b.end + "] have overlapping data_offsets");
            }
        }
    }

    static String typeOf(Object v) {
        return switch (v) {
            case null -> "null";
            case Map<?, ?> _ -> "an object";
            case List<?> _ -> "an array";
            case String s -> "string " + Json.write(s);
            case Boolean b -> b.toString();
            default -> "number " + v;
        };
    }

    private static VaeException fail(Path file, String message) {
        return new VaeException(file + ": " + message);
    }
}
