package io.vae4j.backend.onednn;

import io.vae4j.backend.onednn.ffm.dnnl_h;
import io.vae4j.backend.onednn.ffm.dnnl_memory_desc_t;
import io.vae4j.backend.onednn.ffm.omp_h;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The hand-kept bindings against jextract/includes.txt and against the installed libdnnl. */
class OneDnnBindingsTest {

    static List<String> includedFunctions() throws IOException {
        return Files.readAllLines(Path.of("jextract/includes.txt")).stream()
                .filter(l -> l.startsWith("--include-function "))
                .map(l -> l.substring("--include-function ".length()).trim())
                .toList();
    }

    private static void assumeLibrary() {
        assumeTrue(dnnl_h.LIBRARY.loaded(), () -> "libdnnl not installed (" + dnnl_h.LIBRARY.failure()
                + "); the symbol checks need it: apt-get install -y libdnnl2");
    }

    @Test
    void includesListAndBindingsNameTheSameFunctions() throws IOException {
        assertEquals(new TreeSet<>(includedFunctions()), new TreeSet<>(OneDnn.boundFunctions()),
                "jextract/includes.txt and dnnl_h must bind the same functions");
    }

    @Test
    void everyBoundSymbolResolves() throws IOException {
        assumeLibrary();
        List<String> missing = OneDnn.missing(dnnl_h.LIBRARY, includedFunctions());
        assertTrue(missing.isEmpty(), dnnl_h.LIBRARY.name() + " does not export " + missing);
        assertTrue(OneDnn.available(), OneDnn::unavailableReason);
        assertEquals("2", OneDnn.version().split("\\.")[0], OneDnn.describe());
    }

    @Test
    void openMpCallsResolveAndBoundTheThreads() {
        assumeLibrary();
        assumeTrue(OneDnn.cpuRuntime() == dnnl_h.DNNL_RUNTIME_OMP(), () -> "oneDNN here is not an OpenMP build: "
                + OneDnn.describe());
        assertTrue(OneDnn.missing(omp_h.LIBRARY, List.of("omp_set_num_threads", "omp_get_max_threads")).isEmpty());
        assertTrue(OneDnn.threadsControllable());
        // The setting is the calling thread's: each value we set is what oneDNN will read on this thread.
        OneDnn.limitThreads(1);
        assertEquals(1, omp_h.omp_get_max_threads());
        OneDnn.limitThreads(3);
        assertEquals(3, omp_h.omp_get_max_threads());
    }

    @Test
    void memoryDescriptorLayoutMatchesTheLibrary() {
        assumeLibrary();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment md = Dnnl.md(a, dnnl_h.dnnl_nchw(), 2, 3, 5, 7);
            assertEquals(4, dnnl_memory_desc_t.ndims(md));
            assertEquals(7, dnnl_memory_desc_t.dims(md, 3));
            assertEquals(dnnl_h.dnnl_f32(), dnnl_memory_desc_t.data_type(md));
            assertEquals(dnnl_h.dnnl_blocked(), dnnl_memory_desc_t.format_kind(md));
            assertEquals(4L * 2 * 3 * 5 * 7, Dnnl.size(md));
            assertTrue(Dnnl.equal(md, Dnnl.md(a, dnnl_h.dnnl_nchw(), 2, 3, 5, 7)));
        }
    }

    @Test
    void failingCallsNameTheFunctionAndStatus() {
        assumeLibrary();
        try (Arena a = Arena.ofConfined()) {
            OneDnnException e = assertThrows(OneDnnException.class,
                    () -> Dnnl.md(a, dnnl_h.dnnl_nchw(), 2, 3, 5));
            assertEquals("dnnl_memory_desc_init_by_tag", e.call());
            assertEquals(dnnl_h.dnnl_invalid_arguments(), e.status());
            assertTrue(e.getMessage().contains("dnnl_memory_desc_init_by_tag failed with dnnl_invalid_arguments"),
                    e.getMessage());
        }
    }
}
