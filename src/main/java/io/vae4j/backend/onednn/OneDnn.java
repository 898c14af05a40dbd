package io.vae4j.backend.onednn;

import io.vae4j.backend.onednn.ffm.NativeLibrary;
import io.vae4j.backend.onednn.ffm.dnnl_h;
import io.vae4j.backend.onednn.ffm.dnnl_version_t;
import io.vae4j.backend.onednn.ffm.omp_h;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static io.vae4j.backend.onednn.ffm.dnnl_h.*;

/**
 * Whether oneDNN can be used here, which one it is, and the small helpers every call site shares: status checks
 * that become {@link OneDnnException}s, and the thread limit. The library is Debian's {@code libdnnl2} (oneDNN 2.x;
 * the bindings follow its 2.6 C API). Probing loads it once; nothing here fails when it is absent.
 */
public final class OneDnn {
    /** How to get the library, for messages. */
    public static final String INSTALL_HINT = "install oneDNN 2.x, e.g. 'apt-get install libdnnl2' on Debian/Ubuntu";

    private static final Probe PROBE = probe();
    private static final boolean OMP = PROBE.reason == null && PROBE.cpuRuntime == DNNL_RUNTIME_OMP()
            && omp_h.LIBRARY.loaded() && omp_h.LIBRARY.find("omp_set_num_threads").isPresent();

    private OneDnn() {
    }

    private record Probe(String reason, int major, int minor, int patch, int cpuRuntime, int isa) {
    }

    /**
     * True when libdnnl 2.x loaded and every function the bindings declare resolved (and the system property
     * {@code vae4j.onednn.disable} is not true).
     */
    public static boolean available() {
        return PROBE.reason == null;
    }

    /** Why oneDNN is not available (null when it is). */
    public static String unavailableReason() {
        return PROBE.reason;
    }

    /** "2.6.3", or null when unavailable. */
    public static String version() {
        return available() ? PROBE.major + "." + PROBE.minor + "." + PROBE.patch : null;
    }

    /** One line for logs: version, library, threading runtime, instruction set of its kernels. */
    public static String describe() {
        if (!available()) {
            return "oneDNN not available: " + PROBE.reason;
        }
        return "oneDNN " + version() + " (" + dnnl_h.LIBRARY.name() + ", " + runtimeName(PROBE.cpuRuntime)
                + " threads, " + isaName(PROBE.isa) + " kernels)";
    }

    /** The CPU threading runtime it was built with: one of dnnl_h's DNNL_RUNTIME_* values. */
    public static int cpuRuntime() {
        return PROBE.cpuRuntime;
    }

    /** The instruction set its JIT kernels run on here (a dnnl_cpu_isa_t bit mask). */
    public static int effectiveIsa() {
        return PROBE.isa;
    }

    /** True when its kernels use AVX2 or better, where its JIT convolutions run. */
    public static boolean hasVectorKernels() {
        int avx2 = dnnl_cpu_isa_avx2();
        return available() && (PROBE.isa & avx2) == avx2;
    }

    /**
     * True when its kernels use the AVX512_BF16 dot products (avx512_core_bf16 or better): only then are its bf16
     * convolutions native rather than emulated, and faster than float32.
     */
    public static boolean hasBf16Kernels() {
        int bf16 = dnnl_cpu_isa_avx512_core_bf16();
        return available() && (PROBE.isa & bf16) == bf16;
    }

    /**
     * Whether {@link #limitThreads} can bound oneDNN's threads: true for an OpenMP build (the calls go to libgomp)
     * and for a sequential one; false for TBB or threadpool builds, whose pools we cannot size from C.
     */
    public static boolean threadsControllable() {
        return available() && (PROBE.cpuRuntime == DNNL_RUNTIME_SEQ() || OMP);
    }

    /**
     * Makes the parallel regions the calling thread starts from now on use at most {@code threads} threads. With
     * OpenMP this is a per-thread setting (the nthreads ICV of the calling thread), so it is called on the thread
     * that creates or executes primitives, every time: it is one store in libgomp.
     */
    static void limitThreads(int threads) {
        if (OMP) {
            omp_h.omp_set_num_threads(threads);
        }
    }

    /** Names of the functions the bindings declare (one holder class each in {@link dnnl_h}). */
    public static List<String> boundFunctions() {
        TreeSet<String> names = new TreeSet<>();
        for (Class<?> c : dnnl_h.class.getDeclaredClasses()) {
            names.add(c.getSimpleName());
        }
        return new ArrayList<>(names);
    }

    /** Those of {@code symbols} that {@code library} does not export. */
    public static List<String> missing(NativeLibrary library, List<String> symbols) {
        List<String> missing = new ArrayList<>();
        for (String s : symbols) {
            if (library.find(s).isEmpty()) {
                missing.add(s);
            }
        }
        return missing;
    }

    private static Probe probe() {
        if (Boolean.getBoolean("vae4j.onednn.disable")) {
            return new Probe("disabled by -Dvae4j.onednn.disable=true", 0, 0, 0, 0, 0);
        }
        try {
            if (!dnnl_h.LIBRARY.loaded()) {
                return new Probe(dnnl_h.LIBRARY.failure() + "; " + INSTALL_HINT, 0, 0, 0, 0, 0);
            }
            List<String> missing = missing(dnnl_h.LIBRARY, boundFunctions());
            if (!missing.isEmpty()) {
                return new Probe(dnnl_h.LIBRARY.name() + " lacks " + missing + " (not oneDNN 2.x?); "
                        + INSTALL_HINT, 0, 0, 0, 0, 0);
            }
            MemorySegment v = dnnl_version_t.reinterpret(dnnl_version());
            int major = dnnl_version_t.major(v), minor = dnnl_version_t.minor(v), patch = dnnl_version_t.patch(v);
            if (major != 2) {
                return new Probe(dnnl_h.LIBRARY.name() + " is oneDNN " + major + "." + minor + ", these bindings are"
                        + " for 2.x; " + INSTALL_HINT, major, minor, patch, 0, 0);
            }
            return new Probe(null, major, minor, patch, dnnl_version_t.cpu_runtime(v), dnnl_get_effective_cpu_isa());
        } catch (RuntimeException | LinkageError e) {
            return new Probe("loading oneDNN failed: " + e, 0, 0, 0, 0, 0);
        }
    }

    private static volatile MemorySegment engine;

    /** The CPU engine, made at first use and shared by every backend for the life of the process. */
    static MemorySegment engine() {
        MemorySegment e = engine;
        if (e == null) {
            synchronized (OneDnn.class) {
                if (engine == null) {
                    engine = Dnnl.engine();
                }
                e = engine;
            }
        }
        return e;
    }

    /** Throws a {@link OneDnnException} naming the call unless {@code status} is dnnl_success. */
    static void check(int status, String call, String context) {
        if (status != dnnl_success()) {
            throw new OneDnnException(call, status, context);
        }
    }

    private static final Map<Integer, String> STATUS = Map.of(
            dnnl_success(), "dnnl_success",
            dnnl_out_of_memory(), "dnnl_out_of_memory",
            dnnl_invalid_arguments(), "dnnl_invalid_arguments",
            dnnl_unimplemented(), "dnnl_unimplemented",
            dnnl_iterator_ends(), "dnnl_iterator_ends",
            dnnl_runtime_error(), "dnnl_runtime_error",
            dnnl_not_required(), "dnnl_not_required");

    static String statusName(int status) {
        return STATUS.getOrDefault(status, "unknown status");
    }

    static String runtimeName(int runtime) {
        if (runtime == DNNL_RUNTIME_OMP()) {
            return "OpenMP";
        } else if (runtime == DNNL_RUNTIME_TBB()) {
            return "TBB";
        } else if (runtime == DNNL_RUNTIME_SEQ()) {
            return "sequential";
        } else if (runtime == DNNL_RUNTIME_THREADPOOL()) {
            return "threadpool";
        }
        return "runtime " + runtime;
    }

    static String isaName(int isa) {
        return switch (isa) {
            case 0x0 -> "any";
            case 0x1 -> "sse41";
            case 0x3 -> "avx";
            case 0x7 -> "avx2";
            case 0x407 -> "avx2_vnni";
            case 0x27 -> "avx512_core";
            case 0x67 -> "avx512_core_vnni";
            case 0xe7 -> "avx512_core_bf16";
            case 0x3e7 -> "avx512_core_amx";
            default -> "isa 0x" + Integer.toHexString(isa);
        };
    }
}
