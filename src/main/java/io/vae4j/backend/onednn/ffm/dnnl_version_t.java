package io.vae4j.backend.onednn.ffm;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

import static io.vae4j.backend.onednn.ffm.dnnl_h.C_INT;
import static io.vae4j.backend.onednn.ffm.dnnl_h.C_POINTER;

/**
 * {@snippet lang=c :
 * typedef struct {
 *     int major;
 *     int minor;
 *     int patch;
 *     const char *hash;
 *     unsigned int cpu_runtime;
 *     unsigned int gpu_runtime;
 * } dnnl_version_t;
 * }
 */
public final class dnnl_version_t {

    dnnl_version_t() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            C_INT.withName("major"),
            C_INT.withName("minor"),
            C_INT.withName("patch"),
            MemoryLayout.paddingLayout(4),
            C_POINTER.withName("hash"),
            C_INT.withName("cpu_runtime"),
            C_INT.withName("gpu_runtime")
    ).withName("dnnl_version_t");

    public static GroupLayout layout() {
        return $LAYOUT;
    }

    public static long sizeof() {
        return $LAYOUT.byteSize();
    }

    /** The struct behind the {@code const dnnl_version_t *} that {@code dnnl_version()} returns. */
    public static MemorySegment reinterpret(MemorySegment addr) {
        return addr.reinterpret($LAYOUT.byteSize());
    }

    public static int major(MemorySegment struct) {
        return struct.get(C_INT, 0);
    }

    public static int minor(MemorySegment struct) {
        return struct.get(C_INT, 4);
    }

    public static int patch(MemorySegment struct) {
        return struct.get(C_INT, 8);
    }

    /** The git hash of the sources, or "N/A". */
    public static MemorySegment hash(MemorySegment struct) {
        return struct.get(C_POINTER, 16);
    }

    public static int cpu_runtime(MemorySegment struct) {
        return struct.get(C_INT, 24);
    }

    public static int gpu_runtime(MemorySegment struct) {
        return struct.get(C_INT, 28);
    }
}
