package io.vae4j.backend.onednn;

import io.vae4j.backend.onednn.ffm.dnnl_exec_arg_t;
import io.vae4j.backend.onednn.ffm.dnnl_memory_desc_t;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static io.vae4j.backend.onednn.ffm.dnnl_h.*;

/**
 * Thin, checked helpers over the raw bindings: every failing call becomes a {@link OneDnnException} naming the
 * function and what it was for. Handles are plain {@link MemorySegment} addresses; whoever creates one destroys it.
 */
final class Dnnl {
    private Dnnl() {
    }

    static MemorySegment dims(SegmentAllocator a, long... values) {
        MemorySegment d = a.allocate(dnnl_dims_t);
        for (int i = 0; i < values.length; i++) {
            d.setAtIndex(C_LONG, i, values[i]);
        }
        return d;
    }

    /** A memory descriptor of float32 with the given dims and format tag (dnnl_format_tag_any included). */
    static MemorySegment md(SegmentAllocator a, int tag, long... dims) {
        return typedMd(a, dnnl_f32(), tag, dims);
    }

    /**
     * A memory descriptor of {@code dataType} (dnnl_f32, dnnl_bf16) with the given dims and format tag. Not an
     * overload of {@link #md}: with int dims, md(a, tag, d0, d1, ...) would silently pick it.
     */
    static MemorySegment typedMd(SegmentAllocator a, int dataType, int tag, long... dims) {
        MemorySegment md = dnnl_memory_desc_t.allocate(a);
        OneDnn.check(dnnl_memory_desc_init_by_tag(md, dims.length, dims(a, dims), dataType, tag),
                "dnnl_memory_desc_init_by_tag", (dataType == dnnl_bf16() ? "bfloat16 " : "float32 ")
                        + java.util.Arrays.toString(dims));
        return md;
    }

    static MemorySegment engine() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_POINTER);
            OneDnn.check(dnnl_engine_create(out, dnnl_cpu(), 0), "dnnl_engine_create", "the CPU engine");
            return out.get(C_POINTER, 0);
        }
    }

    static MemorySegment stream(MemorySegment engine) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_POINTER);
            OneDnn.check(dnnl_stream_create(out, engine, dnnl_stream_default_flags()), "dnnl_stream_create", null);
            return out.get(C_POINTER, 0);
        }
    }

    /** A memory object over {@code data} (no copy): the caller keeps data alive and destroys the object. */
    static MemorySegment memory(SegmentAllocator a, MemorySegment md, MemorySegment engine, MemorySegment data) {
        MemorySegment out = a.allocate(C_POINTER);
        OneDnn.check(dnnl_memory_create(out, md, engine, data), "dnnl_memory_create", null);
        return out.get(C_POINTER, 0);
    }

    static MemorySegment primitiveDesc(MemorySegment opDesc, MemorySegment attr, MemorySegment engine,
                                       String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_POINTER);
            OneDnn.check(dnnl_primitive_desc_create(out, opDesc, attr, engine, MemorySegment.NULL),
                    "dnnl_primitive_desc_create", what);
            return out.get(C_POINTER, 0);
        }
    }

    static MemorySegment reorderDesc(MemorySegment from, MemorySegment to, MemorySegment engine, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_POINTER);
            OneDnn.check(dnnl_reorder_primitive_desc_create(out, from, engine, to, engine, MemorySegment.NULL),
                    "dnnl_reorder_primitive_desc_create", what);
            return out.get(C_POINTER, 0);
        }
    }

    static MemorySegment primitive(MemorySegment pd, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_POINTER);
            OneDnn.check(dnnl_primitive_create(out, pd), "dnnl_primitive_create", what);
            return out.get(C_POINTER, 0);
        }
    }

    /** The descriptor a primitive descriptor settled on for one of its memories (owned by the pd). */
    static MemorySegment queryMd(MemorySegment pd, int what) {
        MemorySegment md = dnnl_primitive_desc_query_md(pd, what, 0);
        if (md.equals(MemorySegment.NULL)) {
            throw new OneDnnException("dnnl_primitive_desc_query_md", dnnl_invalid_arguments(), "query " + what);
        }
        return dnnl_memory_desc_t.reinterpret(md);
    }

    static String implName(MemorySegment pd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_POINTER);
            if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str(), 0, out) != dnnl_success()) {
                return "?";
            }
            return out.get(C_POINTER, 0).reinterpret(256).getString(0);
        }
    }

    static long size(MemorySegment md) {
        return dnnl_memory_desc_get_size(md);
    }

    static boolean equal(MemorySegment a, MemorySegment b) {
        return dnnl_memory_desc_equal(a, b) != 0;
    }

    /** Runs a primitive on {@code stream} with (arg, memory) pairs and waits for it. */
    static void execute(MemorySegment primitive, MemorySegment stream, SegmentAllocator a, String what,
                        Object... argMemoryPairs) {
        int n = argMemoryPairs.length / 2;
        MemorySegment args = dnnl_exec_arg_t.allocateArray(n, a);
        for (int i = 0; i < n; i++) {
            MemorySegment arg = dnnl_exec_arg_t.asSlice(args, i);
            dnnl_exec_arg_t.arg(arg, (Integer) argMemoryPairs[2 * i]);
            dnnl_exec_arg_t.memory(arg, (MemorySegment) argMemoryPairs[2 * i + 1]);
        }
        OneDnn.check(dnnl_primitive_execute(primitive, stream, n, args), "dnnl_primitive_execute", what);
        OneDnn.check(dnnl_stream_wait(stream), "dnnl_stream_wait", what);
    }

    static void destroyMemory(MemorySegment m) {
        if (m != null && !m.equals(MemorySegment.NULL)) {
            dnnl_memory_destroy(m);
        }
    }

    static void destroyPrimitive(MemorySegment p) {
        if (p != null && !p.equals(MemorySegment.NULL)) {
            dnnl_primitive_destroy(p);
        }
    }

    static void destroyPrimitiveDesc(MemorySegment pd) {
        if (pd != null && !pd.equals(MemorySegment.NULL)) {
            dnnl_primitive_desc_destroy(pd);
        }
    }
}
