package io.vae4j.backend.onednn;

import io.vae4j.backend.onednn.ffm.dnnl_matmul_desc_t;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.vae4j.backend.onednn.ffm.dnnl_h.*;

/**
 * One oneDNN batched matmul primitive, dst[b][m][n] (float32) = src[b][m][k] · wei[b][k][n], all dense row-major
 * (format tag abc), src and wei bfloat16 or float32. Made once per shape and kept: creating a primitive costs
 * milliseconds (JIT), running one on a Winograd band well under that. The scratchpad is the caller's (user mode),
 * so one primitive runs on several threads at once.
 */
final class OneDnnMatmul implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment pd;
    private final MemorySegment primitive;
    private final MemorySegment srcMd;
    private final MemorySegment weiMd;
    private final MemorySegment dstMd;
    private final MemorySegment scratchMd;
    private final long scratchBytes;
    private final String what;

    OneDnnMatmul(MemorySegment engine, boolean bf16, int batch, int m, int k, int n) {
        this.what = (bf16 ? "bf16" : "f32") + " matmul [" + batch + "][" + m + "x" + k + "]·[" + k + "x" + n + "]";
        int type = bf16 ? dnnl_bf16() : dnnl_f32();
        this.srcMd = Dnnl.typedMd(arena, type, dnnl_abc(), batch, m, k);
        this.weiMd = Dnnl.typedMd(arena, type, dnnl_abc(), batch, k, n);
        this.dstMd = Dnnl.md(arena, dnnl_abc(), batch, m, n);
        MemorySegment desc = dnnl_matmul_desc_t.allocate(arena);
        OneDnn.check(dnnl_matmul_desc_init(desc, srcMd, weiMd, MemorySegment.NULL, dstMd), "dnnl_matmul_desc_init",
                what);
        MemorySegment attr;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_POINTER);
            OneDnn.check(dnnl_primitive_attr_create(out), "dnnl_primitive_attr_create", what);
            attr = out.get(C_POINTER, 0);
        }
        MemorySegment created;
        try {
            OneDnn.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user()),
                    "dnnl_primitive_attr_set_scratchpad_mode", what);
            created = Dnnl.primitiveDesc(desc, attr, engine, what);
        } finally {
            dnnl_primitive_attr_destroy(attr);
        }
        this.pd = created;
        try {
            this.primitive = Dnnl.primitive(pd, what);
            this.scratchMd = Dnnl.queryMd(pd, dnnl_query_scratchpad_md());
            this.scratchBytes = Dnnl.size(scratchMd);
        } catch (RuntimeException | Error e) {
            Dnnl.destroyPrimitiveDesc(pd);
            arena.close();
            throw e;
        }
    }

    /** The implementation oneDNN chose ("brg:avx512_core_bf16", ...). */
    String impl() {
        return Dnnl.implName(pd);
    }

    String what() {
        return what;
    }

    /** Runs on the calling thread's OpenMP team (the caller sets its size) with ctx's stream and scratchpad. */
    void run(ExecContext ctx, MemorySegment src, MemorySegment wei, MemorySegment dst) {
        MemorySegment engine = OneDnn.engine();
        MemorySegment s = null, w = null, d = null, scratch = null;
        try (Arena a = Arena.ofConfined()) {
            s = Dnnl.memory(a, srcMd, engine, src);
            w = Dnnl.memory(a, weiMd, engine, wei);
            d = Dnnl.memory(a, dstMd, engine, dst);
            if (scratchBytes > 0) {
                scratch = Dnnl.memory(a, scratchMd, engine, ctx.buffer(ExecContext.SCRATCHPAD, scratchBytes));
                Dnnl.execute(primitive, ctx.stream, a, what, DNNL_ARG_SRC(), s, DNNL_ARG_WEIGHTS(), w, DNNL_ARG_DST(),
                        d, DNNL_ARG_SCRATCHPAD(), scratch);
            } else {
                Dnnl.execute(primitive, ctx.stream, a, what, DNNL_ARG_SRC(), s, DNNL_ARG_WEIGHTS(), w, DNNL_ARG_DST(),
                        d);
            }
        } finally {
            for (MemorySegment mem : new MemorySegment[]{s, w, d, scratch}) {
                Dnnl.destroyMemory(mem);
            }
        }
    }

    @Override
    public void close() {
        Dnnl.destroyPrimitive(primitive);
        Dnnl.destroyPrimitiveDesc(pd);
        arena.close();
    }
}
