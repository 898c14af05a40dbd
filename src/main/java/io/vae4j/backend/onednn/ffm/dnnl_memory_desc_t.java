package io.vae4j.backend.onednn.ffm;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

import static io.vae4j.backend.onednn.ffm.dnnl_h.C_INT;
import static io.vae4j.backend.onednn.ffm.dnnl_h.C_LONG;
import static io.vae4j.backend.onednn.ffm.dnnl_h.dnnl_dims_t;

/**
 * {@snippet lang=c :
 * typedef struct {
 *     int ndims;
 *     dnnl_dims_t dims;
 *     dnnl_data_type_t data_type;
 *     dnnl_dims_t padded_dims;
 *     dnnl_dims_t padded_offsets;
 *     dnnl_dim_t offset0;
 *     dnnl_format_kind_t format_kind;
 *     union { ... } format_desc;
 *     dnnl_memory_extra_desc_t extra;
 * } dnnl_memory_desc_t;
 * }
 * The named fields are laid out as in the header; {@code format_desc} and {@code extra}, which vae4j never reads
 * (it compares descriptors with {@code dnnl_memory_desc_equal}), are kept as opaque bytes of the right size.
 * 696 bytes, 8-aligned, in oneDNN 2.6 on x86-64.
 */
public final class dnnl_memory_desc_t {

    dnnl_memory_desc_t() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            C_INT.withName("ndims"),
            MemoryLayout.paddingLayout(4),
            dnnl_dims_t.withName("dims"),
            C_INT.withName("data_type"),
            MemoryLayout.paddingLayout(4),
            dnnl_dims_t.withName("padded_dims"),
            dnnl_dims_t.withName("padded_offsets"),
            C_LONG.withName("offset0"),
            C_INT.withName("format_kind"),
            MemoryLayout.paddingLayout(4),
            MemoryLayout.sequenceLayout(296, ValueLayout.JAVA_BYTE).withByteAlignment(8).withName("format_desc"),
            MemoryLayout.sequenceLayout(80, ValueLayout.JAVA_BYTE).withByteAlignment(8).withName("extra")
    ).withName("dnnl_memory_desc_t");

    public static GroupLayout layout() {
        return $LAYOUT;
    }

    public static long sizeof() {
        return $LAYOUT.byteSize();
    }

    public static MemorySegment allocate(SegmentAllocator allocator) {
        return allocator.allocate($LAYOUT);
    }

    private static final long ndims$OFFSET = 0;
    private static final long dims$OFFSET = 8;
    private static final long data_type$OFFSET = 104;
    private static final long format_kind$OFFSET = 312;

    public static int ndims(MemorySegment struct) {
        return struct.get(C_INT, ndims$OFFSET);
    }

    public static long dims(MemorySegment struct, long index) {
        return struct.getAtIndex(C_LONG, dims$OFFSET / 8 + index);
    }

    public static int data_type(MemorySegment struct) {
        return struct.get(C_INT, data_type$OFFSET);
    }

    public static int format_kind(MemorySegment struct) {
        return struct.get(C_INT, format_kind$OFFSET);
    }

    /** The struct a {@code const dnnl_memory_desc_t *} returned by the library points to, sized. */
    public static MemorySegment reinterpret(MemorySegment addr) {
        return addr.reinterpret($LAYOUT.byteSize());
    }
}
