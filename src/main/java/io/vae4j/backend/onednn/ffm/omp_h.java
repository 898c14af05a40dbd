package io.vae4j.backend.onednn.ffm;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static io.vae4j.backend.onednn.ffm.dnnl_h.C_INT;

/**
 * The two OpenMP runtime calls vae4j needs to bound the threads of an OpenMP build of oneDNN (Debian's is one: it
 * links libgomp.so.1), in jextract's shape, from GCC's {@code omp.h}. {@code omp_set_num_threads} sets the
 * calling thread's team size for the parallel regions it starts afterwards; oneDNN also reads it (through
 * {@code omp_get_max_threads}) when it plans a primitive.
 */
@SuppressWarnings("unused")
public final class omp_h {

    omp_h() {
        // Should not be called directly
    }

    /** libgomp: already in the process once libdnnl is, so this only takes another reference to it. */
    public static final NativeLibrary LIBRARY = NativeLibrary.load("libgomp.so.1");

    private static final class omp_set_num_threads {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(C_INT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("omp_set_num_threads");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * extern void omp_set_num_threads(int) __GOMP_NOTHROW;
     * }
     */
    public static void omp_set_num_threads(int x0) {
        var mh$ = omp_set_num_threads.HANDLE;
        try {
            mh$.invokeExact(x0);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class omp_get_max_threads {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("omp_get_max_threads");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * extern int omp_get_max_threads(void) __GOMP_NOTHROW;
     * }
     */
    public static int omp_get_max_threads() {
        var mh$ = omp_get_max_threads.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
