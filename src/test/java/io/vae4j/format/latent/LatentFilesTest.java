package io.vae4j.format.latent;

import io.vae4j.Conformance;
import io.vae4j.format.npy.Npy;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

import static io.vae4j.format.BadInput.expect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LatentFilesTest {
    @TempDir
    Path dir;

    private static final float[] VALUES = {0.5f, -1.25f, 3f, 4f, -0.125f, 6f, 7f, 8f};

    @Test
    void roundTripsEveryFormat() {
        for (String name : List.of("a.npy", "a.latent", "a.safetensors", "UPPER.NPY")) {
            Path p = dir.resolve(name);
            try (Tensor t = Tensor.of(VALUES, 1, 2, 2, 2)) {
                LatentFiles.write(p, t);
            }
            try (LatentFiles.Latent l = LatentFiles.read(p)) {
                assertArrayEquals(new int[] {1, 2, 2, 2}, l.tensor().shape(), name);
                assertArrayEquals(VALUES, l.tensor().toFloatArray(), name);
                assertEquals(DType.F32, l.tensor().dtype());
                assertTrue(l.tensor().owned(), name);
                assertEquals(name.endsWith(".latent"), l.raw(), name);
            }
        }
    }

    @Test
    void latentFileHasComfyLayout() {
        Path p = dir.resolve("c.latent");
        try (Tensor t = Tensor.of(VALUES, 1, 2, 2, 2)) {
            LatentFiles.write(p, t);
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("latent_tensor", "latent_format_version_0"), List.copyOf(f.tensors().keySet()));
            assertEquals(0, f.tensors().get("latent_format_version_0").numel());
        }
    }

    @Test
    void legacyComfyLatentIsUnscaled() {
        Path p = dir.resolve("old.latent");
        try (Tensor t = Tensor.of(new float[] {0.18215f, -0.36430f}, 1, 2, 1, 1)) {
            SafetensorsFile.write(p, single("latent_tensor", t), null);
        }
        try (LatentFiles.Latent l = LatentFiles.read(p)) {
            assertTrue(l.raw());
            assertArrayEquals(new float[] {1f, -2f}, l.tensor().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void addsBatchDimensionAndWidensHalfPrecision() {
        Path p = dir.resolve("chw.safetensors");
        try (Tensor t = Tensor.allocate(DType.F16, 2, 1, 3)) {
            t.set(4, -2.5f);
            SafetensorsFile.write(p, single("whatever", t), null);
        }
        try (LatentFiles.Latent l = LatentFiles.read(p)) {
            assertArrayEquals(new int[] {1, 2, 1, 3}, l.tensor().shape());
            assertEquals(DType.F32, l.tensor().dtype());
            assertTrue(l.tensor().owned());
            assertEquals(-2.5f, l.tensor().get(4));
            assertFalse(l.raw());
        }
        Path q = dir.resolve("chw.npy");
        try (Tensor t = Tensor.of(VALUES, 2, 2, 2)) {
            Npy.write(q, t);
        }
        try (LatentFiles.Latent l = LatentFiles.read(q)) {
            assertArrayEquals(new int[] {1, 2, 2, 2}, l.tensor().shape());
            assertArrayEquals(VALUES, l.tensor().toFloatArray());
        }
    }

    @Test
    void readsConformanceLatent() {
        Path file = Conformance.fileOrSkip("kl_f8_sd/decode_b2_8x8.z.npy");
        try (LatentFiles.Latent l = LatentFiles.read(file)) {
            assertArrayEquals(new int[] {2, 4, 8, 8}, l.tensor().shape());
        }
    }

    @Test
    void wrongRankNamesFileAndShape() {
        Path p = dir.resolve("flat.npy");
        try (Tensor t = Tensor.of(VALUES, 2, 4)) {
            Npy.write(p, t);
        }
        expect(p, () -> LatentFiles.read(p), "[N, C, h, w] or [C, h, w]", "got [2, 4]");
        Path q = dir.resolve("five.safetensors");
        try (Tensor t = Tensor.of(VALUES, 1, 1, 2, 2, 2)) {
            expect(q, () -> LatentFiles.write(q, t), "got [1, 1, 2, 2, 2]");
        }
    }

    @Test
    void safetensorsMustHoldExactlyOneTensor() {
        Path p = dir.resolve("two.safetensors");
        try (Tensor a = Tensor.allocate(1, 1, 1, 1); Tensor b = Tensor.allocate(1, 1, 1, 1)) {
            SequencedMap<String, Tensor> m = new LinkedHashMap<>();
            m.put("first", a);
            m.put("second", b);
            SafetensorsFile.write(p, m, null);
        }
        expect(p, () -> LatentFiles.read(p), "exactly one tensor", "found 2", "[first, second]");
        Path q = dir.resolve("none.safetensors");
        SafetensorsFile.write(q, new LinkedHashMap<>(), Map.of("k", "v"));
        expect(q, () -> LatentFiles.read(q), "exactly one tensor", "found 0");
    }

    @Test
    void latentWithoutLatentTensor() {
        Path p = dir.resolve("wrong.latent");
        try (Tensor t = Tensor.allocate(1, 4, 1, 1)) {
            SafetensorsFile.write(p, single("samples", t), null);
        }
        expect(p, () -> LatentFiles.read(p), "no tensor named 'latent_tensor'", "[samples]");
    }

    @Test
    void unknownExtension() {
        Path p = dir.resolve("latent.pt");
        expect(p, () -> LatentFiles.read(p), "unknown latent file type");
        try (Tensor t = Tensor.allocate(1, 4, 1, 1)) {
            Path q = dir.resolve("noext");
            expect(q, () -> LatentFiles.write(q, t), "unknown latent file type");
        }
    }

    @Test
    void badUnderlyingFileKeepsItsOwnMessage() {
        Path p = dir.resolve("missing.latent");
        expect(p, () -> LatentFiles.read(p), "no such file");
    }

    private static SequencedMap<String, Tensor> single(String name, Tensor t) {
        SequencedMap<String, Tensor> m = new LinkedHashMap<>();
        m.put(name, t);
        return m;
    }
}
