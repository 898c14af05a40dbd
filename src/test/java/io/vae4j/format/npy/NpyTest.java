package io.vae4j.format.npy;

import io.vae4j.Conformance;
import io.vae4j.format.json.Json;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.vae4j.format.BadInput.expect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyTest {
    @TempDir
    Path dir;

    // ---- conformance fixtures (written by numpy) ----

    @Test
    void readsConformanceLatent() {
        Path file = Conformance.fileOrSkip("kl_f8_sd/decode_8x8.z.npy");
        try (Tensor z = Npy.read(file)) {
            assertArrayEquals(new int[] {1, 4, 8, 8}, z.shape());
            assertEquals(DType.F32, z.dtype());
            assertTrue(z.owned());
            float[] v = z.toFloatArray();
            assertArrayEquals(new float[] {0.13666336f, -0.86549586f, 0.3380696f, 1.018251f},
                    Arrays.copyOf(v, 4), 1e-7f);
            double sum = 0;
            for (float x : v) {
                sum += x;
            }
            assertEquals(-5.332719316007569, sum, 1e-5);
        }
    }

    @Test
    void readsConformanceImageMatchingManifestStats() throws IOException {
        Path root = Conformance.dirOrSkip();
        Path file = Conformance.fileOrSkip("kl_f8_sd/decode_8x8.image.npy");
        Map<?, ?> manifest = (Map<?, ?>) Json.parse(Files.readString(root.resolve("kl_f8_sd/manifest.json")));
        Map<?, ?> test = (Map<?, ?>) ((List<?>) manifest.get("tests")).getFirst();
        Map<?, ?> image = (Map<?, ?>) ((Map<?, ?>) test.get("outputs")).get("image");
        Map<?, ?> stats = (Map<?, ?>) image.get("stats");
        try (Tensor t = Npy.read(file)) {
            assertEquals(image.get("shape"), Arrays.stream(t.shape()).mapToObj(d -> (Object) (long) d).toList());
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (float x : t.toFloatArray()) {
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
            assertEquals((double) stats.get("min"), min, 0.0);
            assertEquals((double) stats.get("max"), max, 0.0);
        }
    }

    @Test
    void readsConformanceVqIndices() {
        Path file = Conformance.fileOrSkip("vq_f4/decode_8x8.indices.npy");
        Npy.Int64Array a = Npy.readInt64(file);
        assertArrayEquals(new int[] {1, 8, 8}, a.shape());
        assertEquals(64, a.values().length);
        assertArrayEquals(new long[] {9, 28, 26, 18, 23, 17, 5, 16, 8, 28}, Arrays.copyOf(a.values(), 10));
        assertEquals(1044, Arrays.stream(a.values()).sum());
    }

    // ---- round trips ----

    @Test
    void int64RoundTripIsNumpysLayout() throws java.io.IOException {
        Path file = dir.resolve("codes.npy");
        long[] values = {0, 31, -1, Long.MAX_VALUE, 7, 1L << 40};
        Npy.writeInt64(file, new Npy.Int64Array(new int[]{1, 2, 3}, values));
        Npy.Int64Array back = Npy.readInt64(file);
        assertArrayEquals(new int[]{1, 2, 3}, back.shape());
        assertArrayEquals(values, back.values());
        byte[] bytes = java.nio.file.Files.readAllBytes(file);
        String header = new String(bytes, 10, bytes.length - 6 * 8 - 10, java.nio.charset.StandardCharsets.US_ASCII);
        assertTrue(header.startsWith("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2, 3), }"), header);
        assertTrue(header.endsWith("\n") && (bytes.length - 6 * 8) % 64 == 0, "data aligned to 64 bytes");
    }


    @Test
    void roundTripsShapesOfAnyRank() {
        int[][] shapes = {{1, 4, 8, 8}, {3}, {}, {2, 0, 5}, {1, 1, 1, 1, 2}, {100000, 1}};
        for (int[] shape : shapes) {
            Path out = dir.resolve("r" + shape.length + ".npy");
            try (Tensor t = Tensor.allocate(shape)) {
                for (long i = 0; i < t.numel(); i++) {
                    t.set(i, (float) Math.sin(i) * 1e3f);
                }
                Npy.write(out, t);
                try (Tensor back = Npy.read(out)) {
                    assertArrayEquals(shape, back.shape());
                    assertArrayEquals(t.toFloatArray(), back.toFloatArray());
                }
            }
        }
    }

    @Test
    void writesNumpyCompatibleHeader() throws IOException {
        Path out = dir.resolve("h.npy");
        try (Tensor t = Tensor.of(new float[] {1, 2, 3}, 3)) {
            Npy.write(out, t);
        }
        byte[] b = Files.readAllBytes(out);
        // Byte for byte what np.save(f, np.array([1, 2, 3], dtype='<f4')) writes: data at offset 128.
        assertEquals(128 + 12, b.length);
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals((byte) 0x93, b[0]);
        assertEquals("NUMPY", new String(b, 1, 5, StandardCharsets.US_ASCII));
        assertEquals(1, b[6]);
        assertEquals(0, b[7]);
        assertEquals(118, buf.getShort(8));
        String header = new String(b, 10, 118, StandardCharsets.US_ASCII);
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
        assertEquals(dict + " ".repeat(118 - dict.length() - 1) + "\n", header);
        assertEquals(2f, buf.getFloat(128 + 4));
    }

    @Test
    void writeWidensHalfPrecision() {
        Path out = dir.resolve("h16.npy");
        try (Tensor t = Tensor.allocate(DType.BF16, 2)) {
            t.set(0, 1.5f);
            t.set(1, -3f);
            Npy.write(out, t);
        }
        try (Tensor back = Npy.read(out)) {
            assertArrayEquals(new float[] {1.5f, -3f}, back.toFloatArray());
        }
    }

    @Test
    void readsF16AndF8() {
        ByteBuffer f2 = le(4).putShort(Float.floatToFloat16(0.5f)).putShort(Float.floatToFloat16(-2f));
        Path p = npy("f2.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", f2);
        try (Tensor t = Npy.read(p)) {
            assertEquals(DType.F32, t.dtype());
            assertArrayEquals(new float[] {0.5f, -2f}, t.toFloatArray());
        }
        ByteBuffer f8 = le(16).putDouble(1e-3).putDouble(-1e300);
        Path q = npy("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", f8);
        try (Tensor t = Npy.read(q)) {
            assertArrayEquals(new int[] {1, 2}, t.shape());
            assertArrayEquals(new float[] {1e-3f, Float.NEGATIVE_INFINITY}, t.toFloatArray());
        }
    }

    @Test
    void readsVersions2And3AndLenientHeaderSpelling() {
        ByteBuffer one = le(4).putFloat(7f);
        Path v2 = npy("v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", one);
        Path v3 = npy("v3.npy", 3, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1L,)}", one);
        Path spaces = npy("sp.npy", 1, "  {'shape':(1,),'fortran_order':False,'descr':'<f4'}\t", one);
        for (Path p : List.of(v2, v3, spaces)) {
            try (Tensor t = Npy.read(p)) {
                assertArrayEquals(new float[] {7f}, t.toFloatArray(), p.toString());
            }
        }
    }

    // ---- malformed files ----

    @Test
    void tooShort() {
        Path p = write("short.npy", new byte[] {(byte) 0x93, 'N', 'U'});
        expect(p, () -> Npy.read(p), "3 bytes", "too short");
    }

    @Test
    void badMagic() {
        Path p = write("magic.npy", "PK\u0003\u0004 not numpy at all".getBytes(StandardCharsets.ISO_8859_1));
        expect(p, () -> Npy.read(p), "not a .npy file");
    }

    @Test
    void unsupportedVersion() {
        Path p = npy("v4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", le(4));
        patch(p, 6, (byte) 4);
        expect(p, () -> Npy.read(p), "unsupported .npy version 4.0");
    }

    @Test
    void headerLengthPastEnd() {
        Path p = npy("lying.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", le(0));
        patch(p, 8, (byte) 0xff);
        patch(p, 9, (byte) 0x7f);
        expect(p, () -> Npy.read(p), "header length 32767", "past the end");
    }

    @Test
    void truncatedData() {
        Path p = npy("trunc.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 8, 8), }", le(100));
        expect(p, () -> Npy.read(p), "data is 100 bytes", "(1, 4, 8, 8)", "needs 1024", "truncated");
    }

    @Test
    void trailingData() {
        Path p = npy("trail.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", le(6));
        expect(p, () -> Npy.read(p), "2 unexpected bytes after the data");
    }

    @Test
    void fortranOrder() {
        Path p = npy("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", le(16));
        expect(p, () -> Npy.read(p), "'fortran_order' is True", "C-order");
    }

    @ParameterizedTest
    @ValueSource(strings = {">f4", "<i4", "|u1", "<c8", "|b1", "<U3"})
    void unsupportedDescr(String descr) {
        Path p = npy("descr.npy", 1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }", le(8));
        expect(p, () -> Npy.read(p), "unsupported dtype '" + descr + "'", "'descr'", "'<f4', '<f2', '<f8'");
    }

    @Test
    void structuredDescr() {
        Path p = npy("rec.npy", 1, "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", le(4));
        expect(p, () -> Npy.read(p), "structured (record) dtypes are not supported");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{'descr': '<f4', 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
    })
    void wrongKeys(String header) {
        Path p = npy("keys.npy", 1, header, le(4));
        expect(p, () -> Npy.read(p), "header must have exactly the keys");
    }

    @Test
    void wrongFieldTypes() {
        Path a = npy("t1.npy", 1, "{'descr': 4, 'fortran_order': False, 'shape': (1,), }", le(4));
        expect(a, () -> Npy.read(a), "'descr' must be a string", "got 4");
        Path b = npy("t2.npy", 1, "{'descr': '<f4', 'fortran_order': 'no', 'shape': (1,), }", le(4));
        expect(b, () -> Npy.read(b), "'fortran_order' must be True or False", "got 'no'");
        Path c = npy("t3.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': 1, }", le(4));
        expect(c, () -> Npy.read(c), "'shape' must be a tuple of integers");
        Path d = npy("t4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3000000000,), }", le(4));
        expect(d, () -> Npy.read(d), "'shape'", "over 2147483647");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "descr: '<f4'",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}",
    })
    void garbledHeader(String header) {
        Path p = npy("garbled.npy", 1, header, le(4));
        expect(p, () -> Npy.read(p), "bad .npy header at offset");
    }

    @Test
    void int64ReaderRejectsFloats() {
        Path p = npy("f.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", le(8));
        expect(p, () -> Npy.readInt64(p), "unsupported dtype '<f4'", "(supported: '<i8')");
        Path q = npy("i.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }", le(16).putLong(8, -3));
        Npy.Int64Array a = Npy.readInt64(q);
        assertArrayEquals(new int[] {2, 1}, a.shape());
        assertArrayEquals(new long[] {0, -3}, a.values());
        Path r = npy("itrunc.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", le(15));
        expect(r, () -> Npy.readInt64(r), "data is 15 bytes", "needs 16");
    }

    @Test
    void missingFile() {
        Path p = dir.resolve("absent.npy");
        expect(p, () -> Npy.read(p), "no such file");
    }

    /** A key holding a newline is quoted escaped: the refusal stays one line (found by NpyFuzzTest). */
    @Test
    void headerTextQuotedInARefusalStaysOneLine() {
        Path p = npy("newline.npy", 1, "{'descr': '<f2', '(ortr\n': False, 'shape': (1, 2), }", le(4));
        expect(p, () -> Npy.read(p), "got [descr, (ortr\\n");
    }

    @Test
    void failedWriteLeavesNothing() throws IOException {
        Path out = dir.resolve("gone.npy");
        Tensor t = Tensor.allocate(4);
        t.close();
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> Npy.write(out, t));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.toList());
        }
        Path missing = dir.resolve("no/dir.npy");
        try (Tensor u = Tensor.allocate(1)) {
            expect(missing, () -> Npy.write(missing, u), "does not exist");
        }
    }

    // ---- helpers ----

    /** A .npy file with the given version and header dict (padded like numpy), followed by {@code data}. */
    private Path npy(String name, int major, String dict, ByteBuffer data) {
        byte[] text = dict.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int prefix = major == 1 ? 10 : 12;
        int total = (prefix + text.length + 1 + 63) / 64 * 64;
        ByteBuffer b = le(total + data.capacity());
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) (total - prefix));
        } else {
            b.putInt(total - prefix);
        }
        b.put(text);
        while (b.position() < total - 1) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        b.put(data.array());
        return write(name, b.array());
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private Path write(String name, byte[] bytes) {
        try {
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void patch(Path p, int offset, byte value) {
        try {
            byte[] b = Files.readAllBytes(p);
            b[offset] = value;
            Files.write(p, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
