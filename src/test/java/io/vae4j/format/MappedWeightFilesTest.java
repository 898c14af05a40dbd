package io.vae4j.format;

import io.vae4j.backend.PreparedCache;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mapped weights (a safetensors file, a prepared-weights cache entry) reach the kernels as the segment class of
 * allocated memory, read-only: a second class at the kernels' loads cost a warm decode a quarter of its speed.
 */
class MappedWeightFilesTest {
    @TempDir
    Path dir;

    @AfterEach
    void restore() {
        System.clearProperty("vae4j.cache.dir");
    }

    private static Class<?> allocatedClass() {
        try (Tensor t = Tensor.allocate(4)) {
            return t.data().getClass();
        }
    }

    private static void assertPlainReadOnly(MemorySegment s, String what) {
        assertEquals(allocatedClass(), s.getClass(), what + ": the class of allocated memory");
        assertTrue(s.isReadOnly(), what + ": read-only, as mapped");
        assertThrows(IllegalArgumentException.class, () -> s.set(ValueLayout.JAVA_BYTE, 0, (byte) 1),
                what + ": a write is refused, not a fault");
    }

    @Test
    void safetensorsWeightsArePlainReadOnlyAndGoWithTheFile() {
        Path file = dir.resolve("w.safetensors");
        try (Tensor a = Tensor.of(new float[]{1, -2, 3.5f, 4}, 2, 2)) {
            SequencedMap<String, Tensor> in = new LinkedHashMap<>();
            in.put("w", a);
            SafetensorsFile.write(file, in, Map.of());
        }
        MemorySegment kept;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Tensor w = f.tensors().get("w");
            assertArrayEquals(new float[]{1, -2, 3.5f, 4}, w.toFloatArray());
            assertPlainReadOnly(w.data(), "a safetensors weight");
            kept = w.data();
        }
        assertThrows(IllegalStateException.class, () -> kept.get(ValueLayout.JAVA_BYTE, 0),
                "closing the file unmaps its weights");
    }

    @Test
    void cachedTransformsArePlainReadOnly() {
        System.setProperty("vae4j.cache.dir", dir.toString());
        boolean was = PreparedCache.enabled();
        PreparedCache.setEnabled(true);
        try {
            byte[] key = {1, 2, 3};
            try (Tensor made = PreparedCache.get("probe", () -> key, () -> Tensor.of(new float[]{5, 6, 7}, 3))) {
                assertArrayEquals(new float[]{5, 6, 7}, made.toFloatArray());
            }
            try (Tensor mapped = PreparedCache.get("probe", () -> key, () -> {
                throw new AssertionError("the entry was stored: it is mapped, not made again");
            })) {
                assertArrayEquals(new float[]{5, 6, 7}, mapped.toFloatArray());
                assertPlainReadOnly(mapped.data(), "a cache entry");
            }
        } finally {
            PreparedCache.setEnabled(was);
        }
    }
}
