package io.vae4j.backend.onednn.ffm;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static io.vae4j.backend.onednn.ffm.dnnl_h.C_INT;
import static io.vae4j.backend.onednn.ffm.dnnl_h.C_POINTER;

/**
 * {@snippet lang=c :
 * typedef struct {
 *     int arg;
 *     dnnl_memory_t memory;
 * } dnnl_exec_arg_t;
 * }
 */
public final class dnnl_exec_arg_t {

    dnnl_exec_arg_t() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            C_INT.withName("arg"),
            MemoryLayout.paddingLayout(4),
            C_POINTER.withName("memory")
    ).withName("dnnl_exec_arg_t");

    public static GroupLayout layout() {
        return $LAYOUT;
    }

    public static long sizeof() {
        return $LAYOUT.byteSize();
    }

    public static MemorySegment allocate(SegmentAllocator allocator) {
        return allocator.allocate($LAYOUT);
    }

    public static MemorySegment allocateArray(long elementCount, SegmentAllocator allocator) {
        return allocator.allocate(MemoryLayout.sequenceLayout(elementCount, $LAYOUT));
    }

    public static MemorySegment asSlice(MemorySegment array, long index) {
        return array.asSlice($LAYOUT.byteSize() * index, $LAYOUT.byteSize());
    }

    private static final long arg$OFFSET = 0;
    private static final long memory$OFFSET = 8;

    public static int arg(MemorySegment struct) {
        return struct.get(C_INT, arg$OFFSET);
    }

    public static void arg(MemorySegment struct, int fieldValue) {
        struct.set(C_INT, arg$OFFSET, fieldValue);
    }

    public static MemorySegment memory(MemorySegment struct) {
        return struct.get(C_POINTER, memory$OFFSET);
    }

    public static void memory(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(C_POINTER, memory$OFFSET, fieldValue);
    }
}
