package io.vae4j.backend.onednn;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.backend.Backends;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.Random4;
import io.vae4j.backend.onednn.ffm.NativeLibrary;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What the twin tests do not cover: plan caching, calls from several threads, selection and absence. */
class OneDnnBackendTest {
    private static OneDnnBackend backend;

    private static synchronized OneDnnBackend backend() {
        assumeTrue(OneDnn.available(), () -> "oneDNN backend not tested: " + OneDnn.unavailableReason());
        if (backend == null) {
            backend = new OneDnnBackend(2);
        }
        return backend;
    }

    @AfterAll
    static void close() {
        if (backend != null) {
            backend.close();
        }
    }

    @Test
    void onePlanPerShapeAndKind() {
        OneDnnBackend b = backend();
        Random4 r = new Random4(1);
        ConvParams p = new ConvParams("c", r.normal(0.2f, 16, 8, 3, 3), r.normal(0.5f, 16), ConvGeometry.same3x3());
        try (OneDnnConv conv = (OneDnnConv) b.prepareConv(p);
             Tensor small = r.normal(1f, 1, 8, 6, 6); Tensor big = r.normal(1f, 1, 8, 9, 7)) {
            for (int i = 0; i < 3; i++) {
                b.conv2d(small, conv, null).close();
                b.conv2d(big, conv, null).close();
            }
            assertEquals(2, conv.planCount());
            b.upsampleConv2d(small, conv).close();
            assertEquals(3, conv.planCount());
        }
    }

    /** A result's values in NCHW order (the backend may keep its blocked layout). */
    private static float[] values(OneDnnBackend b, Tensor out) {
        Tensor nchw = b.toNchw(out);
        try {
            return nchw.toFloatArray();
        } finally {
            if (nchw != out) {
                nchw.close();
            }
        }
    }

    @Test
    void concurrentCallersGetTheSameAnswers() throws Exception {
        OneDnnBackend b = backend();
        Random4 r = new Random4(2);
        ConvParams p = new ConvParams("c", r.normal(0.1f, 32, 24, 3, 3), r.normal(0.5f, 32), ConvGeometry.same3x3());
        try (OneDnnConv conv = (OneDnnConv) b.prepareConv(p)) {
            List<Tensor> inputs = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Tensor in = r.normal(1f, 1, 24, 10 + i, 12);
                inputs.add(in);
                try (Tensor out = b.conv2d(in, conv, null)) {
                    expected.add(values(b, out));
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int which = t % 4;
                    results.add(pool.submit(() -> {
                        boolean same = true;
                        for (int rep = 0; rep < 5; rep++) {
                            Tensor in = inputs.get(which);
                            try (Tensor out = rep % 2 == 0 ? b.conv2d(in, conv, null) : b.upsampleConv2d(in, conv)) {
                                if (rep % 2 == 0) {
                                    same &= java.util.Arrays.equals(expected.get(which), values(b, out));
                                }
                            }
                        }
                        return same;
                    }));
                }
                for (Future<Boolean> f : results) {
                    assertTrue(f.get(), "a concurrent call gave another answer");
                }
            } finally {
                pool.shutdownNow();
                inputs.forEach(Tensor::close);
            }
        }
    }

    @Test
    void createByName() {
        assumeTrue(OneDnn.available(), () -> "oneDNN backend not tested: " + OneDnn.unavailableReason());
        Backend b = Backends.create("onednn", 1);
        assertInstanceOf(OneDnnBackend.class, b);
        assertEquals("onednn", b.name());
        assertEquals(1, b.threads());
        ((OneDnnBackend) b).close();
        assertTrue(Backends.NAMES.contains("onednn"));
    }

    /** The Vector API backend measured faster than oneDNN's convolutions here, so auto picks it. */
    @Test
    void autoPicksTheFasterVectorBackend() {
        try (Backend b = Backends.create("auto", 1)) {
            assertEquals("java", b.name());
        }
    }

    @Test
    void anAbsentLibraryIsReportedNotThrown() {
        NativeLibrary none = NativeLibrary.load("libvae4j-absent.so.9", "libvae4j-absent.so");
        assertFalse(none.loaded());
        assertTrue(none.failure().contains("libvae4j-absent.so.9"), none.failure());
        assertTrue(none.find("dnnl_engine_create").isEmpty());
        assertEquals(List.of("dnnl_engine_create"), OneDnn.missing(none, List.of("dnnl_engine_create")));
    }

    @Test
    void unavailableOneDnnIsAClearError() {
        assumeTrue(!OneDnn.available(), "oneDNN is installed here; the error for its absence is not reachable");
        VaeException e = assertThrows(VaeException.class, () -> Backends.create("onednn", 1));
        assertTrue(e.getMessage().contains("libdnnl2"), e.getMessage());
    }
}
