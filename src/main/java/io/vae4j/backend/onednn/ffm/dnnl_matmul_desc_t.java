package io.vae4j.backend.onednn.ffm;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

/**
 * {@snippet lang=c :
 * typedef struct {
 *     dnnl_primitive_kind_t primitive_kind;
 *     dnnl_memory_desc_t src_desc;
 *     dnnl_memory_desc_t weights_desc;
 *     dnnl_memory_desc_t bias_desc;
 *     dnnl_memory_desc_t dst_desc;
 *     dnnl_data_type_t accum_data_type;
 * } dnnl_matmul_desc_t;
 * }
 * An operation descriptor that vae4j only initialises (with {@code dnnl_matmul_desc_init}) and passes on to
 * {@code dnnl_primitive_desc_create}, so it is kept opaque: 2800 bytes, 8-aligned, in oneDNN 2.6.
 */
public final class dnnl_matmul_desc_t {

    dnnl_matmul_desc_t() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("primitive_kind"),
            MemoryLayout.sequenceLayout(2800 - 4, ValueLayout.JAVA_BYTE).withName("rest")
    ).withByteAlignment(8).withName("dnnl_matmul_desc_t");

    public static GroupLayout layout() {
        return $LAYOUT;
    }

    public static long sizeof() {
        return $LAYOUT.byteSize();
    }

    public static MemorySegment allocate(SegmentAllocator allocator) {
        return allocator.allocate($LAYOUT);
    }
}
