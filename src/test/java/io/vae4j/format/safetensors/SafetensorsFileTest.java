package io.vae4j.format.safetensors;

import io.vae4j.Conformance;
import io.vae4j.VaeException;
import io.vae4j.format.json.Json;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Stream;

import static io.vae4j.format.BadInput.expect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    // ---- reading and writing valid files ----

    @Test
    void roundTripKeepsOrderDtypesValuesAndMetadata() throws IOException {
        Path out = dir.resolve("w.safetensors");
        try (Tensor a = Tensor.of(new float[] {1, -2, 3.5f, 4, 5, 6}, 2, 3);
             Tensor b = Tensor.allocate(DType.F16, 3);
             Tensor c = Tensor.allocate(DType.BF16, 1, 1, 2);
             Tensor empty = Tensor.allocate(DType.F32, 0, 4)) {
            b.set(0, 0.5f);
            b.set(2, -65504f);
            c.set(1, 3.0f);
            SequencedMap<String, Tensor> in = new LinkedHashMap<>();
            in.put("z.last.first", a);
            in.put("b", b);
            in.put("empty", empty);
            in.put("a.c", c);
            SafetensorsFile.write(out, in, Map.of("format", "pt", "note", "quote\" and \u00e9"));
        }
        byte[] bytes = Files.readAllBytes(out);
        long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "data area starts 8-byte aligned");
        assertEquals('{', bytes[8]);
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(out, f.path());
            assertEquals(List.of("z.last.first", "b", "empty", "a.c"), List.copyOf(f.tensors().keySet()));
            Tensor a = f.tensors().get("z.last.first");
            assertEquals(DType.F32, a.dtype());
            assertArrayEquals(new int[] {2, 3}, a.shape());
            assertArrayEquals(new float[] {1, -2, 3.5f, 4, 5, 6}, a.toFloatArray());
            assertFalse(a.owned(), "tensors are views of the mapping");
            Tensor b = f.tensors().get("b");
            assertEquals(DType.F16, b.dtype());
            assertArrayEquals(new float[] {0.5f, 0, -65504f}, b.toFloatArray());
            assertEquals(DType.BF16, f.tensors().get("a.c").dtype());
            assertArrayEquals(new float[] {0, 3}, f.tensors().get("a.c").toFloatArray());
            assertArrayEquals(new int[] {0, 4}, f.tensors().get("empty").shape());
            assertEquals(Map.of("format", "pt", "note", "quote\" and \u00e9"), f.metadata());
            assertThrows(UnsupportedOperationException.class, () -> f.tensors().remove("b"));
        }
    }

    @Test
    void noMetadataAndNoTensors() {
        Path out = dir.resolve("empty.safetensors");
        SafetensorsFile.write(out, new LinkedHashMap<>(), null);
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertTrue(f.tensors().isEmpty());
            assertTrue(f.metadata().isEmpty());
        }
    }

    @Test
    void readsUnalignedOffsetsPaddingAndUnknownEntryFields() throws IOException {
        // Two F32 tensors at odd offsets with a gap; header padded with trailing spaces like the reference writer.
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1,5],\"extra\":1},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[7,11]}}   ";
        ByteBuffer data = ByteBuffer.allocate(11).order(ByteOrder.LITTLE_ENDIAN);
        data.putFloat(1, 1.25f).putFloat(7, -8f);
        Path p = write("odd.safetensors", u64(header.length()), ascii(header), data.array());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(1.25f, f.tensors().get("x").get(0));
            assertEquals(-8f, f.tensors().get("y").get(0));
            assertEquals(0, f.tensors().get("x").data().address() % Float.BYTES, "misaligned tensors are copied");
            assertArrayEquals(new int[0], f.tensors().get("y").shape());
        }
    }

    @Test
    void closeInvalidatesViewsSafelyAndIsIdempotent() {
        Path out = dir.resolve("c.safetensors");
        try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
            SafetensorsFile.write(out, new LinkedHashMap<>(Map.of("t", t)), Map.of());
        }
        SafetensorsFile f = SafetensorsFile.open(out);
        Tensor view = f.tensors().get("t");
        f.close();
        f.close();
        assertThrows(IllegalStateException.class, () -> view.get(0));
    }

    @Test
    void writeReplacesAFileThatIsStillMapped() {
        Path out = dir.resolve("m.safetensors");
        try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
            SafetensorsFile.write(out, new LinkedHashMap<>(Map.of("t", t)), Map.of());
        }
        try (SafetensorsFile old = SafetensorsFile.open(out)) {
            SafetensorsFile.write(out, new LinkedHashMap<>(old.tensors()), Map.of("v", "2"));
            assertEquals(2f, old.tensors().get("t").get(1), "the old mapping still reads the old inode");
        }
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(Map.of("v", "2"), f.metadata());
            assertArrayEquals(new float[] {1, 2}, f.tensors().get("t").toFloatArray());
        }
    }

    @Test
    void conformanceModels() {
        Path root = Conformance.dirOrSkip();
        for (String model : List.of("kl_f8_sd", "kl_f8_fp16", "kl_f8_bf16", "vq_f4")) {
            Path manifestFile = root.resolve(model).resolve("manifest.json");
            if (!Files.isRegularFile(manifestFile)) {
                continue;
            }
            Map<?, ?> manifest = (Map<?, ?>) Json.parse(readString(manifestFile));
            Map<?, ?> weights = (Map<?, ?>) ((Map<?, ?>) manifest.get("weights")).get("original");
            try (SafetensorsFile f = SafetensorsFile.open(root.resolve(model).resolve((String) weights.get("file")))) {
                assertEquals(weights.get("num_tensors"), (long) f.tensors().size(), model);
                long params = f.tensors().values().stream().mapToLong(Tensor::numel).sum();
                assertEquals(weights.get("num_params"), params, model);
                List<?> dtypes = (List<?>) weights.get("dtypes");
                for (Tensor t : f.tensors().values()) {
                    assertTrue(dtypes.contains(t.dtype().safetensorsName()), model + " " + t);
                }
            }
        }
    }

    // ---- malformed files: each must fail with a one-line VaeException naming the file and the field ----

    @Test
    void fileShorterThan8Bytes() {
        Path p = write("short.safetensors", new byte[] {1, 2, 3, 4, 5});
        expect(p, () -> SafetensorsFile.open(p), "5 bytes", "at least 8");
        Path empty = write("empty.safetensors");
        expect(empty, () -> SafetensorsFile.open(empty), "0 bytes");
    }

    @Test
    void headerLengthZero() {
        Path p = write("zero.safetensors", u64(0), ascii("{}"));
        expect(p, () -> SafetensorsFile.open(p), "header length is 0");
    }

    @Test
    void headerLengthOverLimit() {
        Path p = write("huge.safetensors", u64(200L << 20), ascii("{}"));
        expect(p, () -> SafetensorsFile.open(p), "header length 209715200", "exceeds the limit");
        Path q = write("u64max.safetensors", u64(-1), ascii("{}"));
        expect(q, () -> SafetensorsFile.open(q), "header length 18446744073709551615");
    }

    @Test
    void headerLengthPastEndOfFile() {
        Path p = write("lying.safetensors", u64(100), ascii("{}      "));
        expect(p, () -> SafetensorsFile.open(p), "header length 100", "past the end of the 16-byte file");
    }

    @Test
    void headerNotUtf8() {
        Path p = write("latin1.safetensors", u64(8), new byte[] {'{', '"', (byte) 0xe9, '"', ':', '1', '}', ' '});
        expect(p, () -> SafetensorsFile.open(p), "header is not valid UTF-8");
    }

    @Test
    void headerNotJson() {
        Path p = header("badjson.safetensors", "{\"a\": {\"dtype\": \"F32\",}}");
        expect(p, () -> SafetensorsFile.open(p), "header is not valid JSON", "at offset 22");
    }

    @Test
    void headerNotAnObject() {
        Path p = header("array.safetensors", "[1,2]");
        expect(p, () -> SafetensorsFile.open(p), "header must be a JSON object", "array");
    }

    @Test
    void duplicateTensorName() {
        String t = "{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
        Path p = header("dup.safetensors", "{\"w\":" + t + ",\"w\":" + t + "}");
        expect(p, () -> SafetensorsFile.open(p), "duplicate key \"w\"");
    }

    @Test
    void metadataNotAnObject() {
        Path p = header("meta.safetensors", "{\"__metadata__\":[\"a\"]}");
        expect(p, () -> SafetensorsFile.open(p), "__metadata__ must be an object of strings", "got an array");
    }

    @Test
    void metadataValueNotAString() {
        Path p = header("meta2.safetensors", "{\"__metadata__\":{\"ok\":\"x\",\"epoch\":3}}");
        expect(p, () -> SafetensorsFile.open(p), "__metadata__ value of 'epoch' must be a string", "number 3");
    }

    @Test
    void entryNotAnObject() {
        Path p = header("entry.safetensors", "{\"w\":\"F32\"}");
        expect(p, () -> SafetensorsFile.open(p), "tensor 'w'", "entry must be an object");
    }

    @ParameterizedTest
    @ValueSource(strings = {"complex", "f32", "", "F128", "Q4_0"})
    void unknownDtype(String dtype) {
        Path p = tensor("dtype.safetensors", "\"dtype\":\"" + dtype + "\",\"shape\":[1],\"data_offsets\":[0,8]", 8);
        expect(p, () -> SafetensorsFile.open(p), "unknown dtype \"" + dtype + "\" for tensor 'w'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"F64", "I64", "U64"})
    void knownNonFloatDtypeIsValidatedThenSkipped(String dtype) {
        Path p = tensor("int.safetensors", "\"dtype\":\"" + dtype + "\",\"shape\":[1],\"data_offsets\":[0,8]", 8);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertTrue(f.tensors().isEmpty());
            assertEquals(Map.of("w", dtype), f.skipped());
        }
        Path q = tensor("int2.safetensors", "\"dtype\":\"" + dtype + "\",\"shape\":[2],\"data_offsets\":[0,8]", 8);
        expect(q, () -> SafetensorsFile.open(q), "tensor 'w'", "needs 16");
    }

    @Test
    void dtypeMissingOrNotAString() {
        Path p = tensor("nodtype.safetensors", "\"shape\":[1],\"data_offsets\":[0,4]", 4);
        expect(p, () -> SafetensorsFile.open(p), "tensor 'w'", "dtype must be a string, got null");
        Path q = tensor("numdtype.safetensors", "\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]", 4);
        expect(q, () -> SafetensorsFile.open(q), "tensor 'w'", "dtype must be a string, got number 4");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[-1]", "[1.5]", "[\"2\"]", "2", "null", "[2147483648]", "{}"})
    void badShape(String shape) {
        Path p = tensor("shape.safetensors", "\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,4]", 4);
        expect(p, () -> SafetensorsFile.open(p), "tensor 'w'", "shape must be an array of non-negative integers");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[0]", "[0,4,8]", "[-4,0]", "[0,4.0]", "\"0,4\"", "null"})
    void badDataOffsets(String offsets) {
        Path p = tensor("offsets.safetensors", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":" + offsets, 4);
        expect(p, () -> SafetensorsFile.open(p), "tensor 'w'", "data_offsets must be [begin, end]");
    }

    @Test
    void beginAfterEnd() {
        Path p = tensor("order.safetensors", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]", 8);
        expect(p, () -> SafetensorsFile.open(p), "tensor 'w'", "data_offsets [8, 4] has begin > end");
    }

    @Test
    void offsetsOutOfRange() {
        Path p = tensor("range.safetensors", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]", 8);
        expect(p, () -> SafetensorsFile.open(p), "tensor 'w'", "data_offsets [4, 12]",
                "ends beyond the data area of 8 bytes");
    }

    @Test
    void sizeMismatch() {
        Path p = tensor("size.safetensors", "\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,16]", 16);
        expect(p, () -> SafetensorsFile.open(p), "tensor 'w'", "spans 16 bytes but F16[2, 2] needs 8");
    }

    @Test
    void shapeTooLarge() {
        Path p = tensor("big.safetensors",
                "\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]", 4);
        expect(p, () -> SafetensorsFile.open(p), "tensor 'w'", "is too large");
    }

    @Test
    void overlappingOffsets() {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]}}";
        Path p = write("overlap.safetensors", u64(h.length()), ascii(h), new byte[16]);
        expect(p, () -> SafetensorsFile.open(p), "'b' [0, 8] and 'c' [4, 16]", "overlapping data_offsets");
    }

    @Test
    void emptyTensorsOverlapNothing() {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"BF16\",\"shape\":[3,0],\"data_offsets\":[4,4]},"
                + "\"f\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[4,4]}}";
        Path p = write("zero.safetensors", u64(h.length()), ascii(h), new byte[8]);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(0, f.tensors().get("e").numel());
        }
    }

    @Test
    void missingFileAndDirectory() {
        Path p = dir.resolve("absent.safetensors");
        expect(p, () -> SafetensorsFile.open(p), "no such file");
        expect(dir, () -> SafetensorsFile.open(dir), "is a directory");
    }

    // ---- failed writes ----

    @Test
    void reservedTensorNameIsRejectedBeforeWriting() throws IOException {
        Path out = dir.resolve("r.safetensors");
        try (Tensor t = Tensor.allocate(1)) {
            expect(out, () -> SafetensorsFile.write(out, new LinkedHashMap<>(Map.of("__metadata__", t)), null),
                    "'__metadata__' is reserved");
        }
        assertEquals(List.of(), listing());
    }

    @Test
    void failedWriteLeavesNoTargetAndNoTempFile() throws IOException {
        Path src = dir.resolve("src.safetensors");
        try (Tensor t = Tensor.allocate(1000)) {
            SafetensorsFile.write(src, new LinkedHashMap<>(Map.of("t", t)), null);
        }
        SafetensorsFile f = SafetensorsFile.open(src);
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>(f.tensors());
        f.close();
        Path out = dir.resolve("out.safetensors");
        // The tensor's memory is gone, so writing it fails after the header has been written.
        assertThrows(IllegalStateException.class, () -> SafetensorsFile.write(out, tensors, null));
        assertEquals(List.of(src), listing());
    }

    @Test
    void writeIntoMissingDirectory() {
        Path out = dir.resolve("missing/out.safetensors");
        try (Tensor t = Tensor.allocate(1)) {
            VaeException e = expect(out, () -> SafetensorsFile.write(out, new LinkedHashMap<>(Map.of("t", t)), null),
                    "does not exist");
            assertTrue(e.getMessage().startsWith("cannot write " + out), e.getMessage());
        }
    }

    // ---- helpers ----

    private Path tensor(String name, String fields, int dataBytes) {
        String h = "{\"w\":{" + fields + "}}";
        return write(name, u64(h.length()), ascii(h), new byte[dataBytes]);
    }

    private Path header(String name, String json) {
        return write(name, u64(json.length()), ascii(json));
    }

    private Path write(String name, byte[]... parts) {
        try {
            Path p = dir.resolve(name);
            for (byte[] part : parts) {
                Files.write(p, part, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            }
            if (parts.length == 0) {
                Files.write(p, new byte[0]);
            }
            return p;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
