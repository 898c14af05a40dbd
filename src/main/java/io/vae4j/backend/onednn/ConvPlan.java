package io.vae4j.backend.onednn;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.Precision;
import io.vae4j.backend.onednn.ffm.dnnl_convolution_desc_t;
import io.vae4j.backend.onednn.ffm.dnnl_memory_desc_t;
import io.vae4j.backend.vector.BlockedKernels;
import io.vae4j.tensor.Layout;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static io.vae4j.backend.onednn.ffm.dnnl_h.*;

/**
 * One oneDNN primitive for one convolution at one input shape, created at first use and kept, with the reorders
 * between our NCHW tensors and the layouts the primitive chose. Executing it is thread-safe: every call brings
 * its own {@link ExecContext} and memory objects.
 */
final class ConvPlan implements AutoCloseable {

    /** How the convolution is computed. */
    enum Kind {
        /** The convolution itself, optionally with a sum post-op that adds the residual. */
        CONV,
        /**
         * conv(nearest2x(x)) for a 3x3 stride-1 pad-1 convolution, as a stride-2 transposed convolution with 4x4
         * weights ({@link OneDnnConv#source}).
         */
        DECONV,
        /**
         * conv(nearest2x(x)) for a 3x3 stride-1 pad-1 convolution, as one 2x2 pad-1 convolution of x to 4x the
         * output channels, one block per output phase (py, px), whose blocks are then scattered into the
         * interleaved output by four strided reorders.
         */
        PHASES
    }

    /**
     * What a plan depends on besides the convolution: the input shape, the kind of call and the layouts of the
     * tensors it is given ({@code src}) and writes ({@code dst}, the residual's too). {@code blocked}: let oneDNN
     * choose the layout it computes in where src or dst is NCHW, with reorders around the call.
     */
    record Key(int n, int h, int w, boolean residual, Kind kind, boolean blocked, Layout src, Layout dst) {
    }

    private final OneDnnConv conv;
    private final Key key;
    private final Arena arena = Arena.ofShared();
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final MemorySegment pd;
    private final MemorySegment primitive;
    private final MemorySegment srcMd;
    private final MemorySegment weightsMd;
    private final MemorySegment biasMd;
    private final MemorySegment biasData;
    private final MemorySegment dstMd;
    private final MemorySegment scratchMd;
    private final long scratchBytes;
    private final MemorySegment weights;
    private final Reorder srcIn;
    private final Reorder dstOut;
    private final Reorder residualIn;
    /** PHASES into NCHW: the reorder that scatters each output phase, and where in the output (bytes) it starts. */
    private final Reorder[] phases;
    /** PHASES into a blocked result: the phases are interleaved by {@link BlockedKernels#interleavePhases}. */
    private final boolean interleave;
    private final long[] phaseOffsets;
    private final String impl;
    private final boolean reference;

    ConvPlan(OneDnnConv conv, Key key) {
        this.conv = conv;
        this.key = key;
        OneDnnBackend backend = conv.backend();
        ConvParams p = conv.params();
        ConvGeometry g = p.geometry();
        Kind kind = key.kind;
        long n = key.n, cin = p.inChannels(), cout = p.outChannels(), h = key.h, w = key.w;
        // The primitive's own output: PHASES computes 4 blocks of channels at (h+1)x(w+1) positions.
        long pcout = kind == Kind.PHASES ? 4 * cout : cout;
        long oh = switch (kind) {
            case CONV -> g.outHeight(key.h);
            case DECONV -> 2 * h;
            case PHASES -> h + 1;
        };
        long ow = switch (kind) {
            case CONV -> g.outWidth(key.w);
            case DECONV -> 2 * w;
            case PHASES -> w + 1;
        };
        OneDnnConv.Source source = conv.source(kind);
        String what = p.name() + (kind == Kind.CONV ? "" : " (upsample+conv, " + kind + ")") + " on [" + n + ", "
                + cin + ", " + h + ", " + w + "]";
        MemorySegment engine = backend.engine();
        OneDnn.limitThreads(backend.threads());

        MemorySegment userSrc = Dnnl.md(arena, tag(key.src), n, cin, h, w);
        MemorySegment userDst = Dnnl.md(arena, tag(key.dst), n, pcout, oh, ow);
        this.biasMd = Dnnl.md(arena, dnnl_a(), pcout);
        this.biasData = source.bias();
        // Plain NCHW when asked for, unless oneDNN has only its reference (loop) implementation for it: then
        // let it choose the layout, and reorder.
        MemorySegment chosen = null;
        // bf16 sources always go through a reorder (it converts), so plain NCHW would save nothing.
        int operands = backend.precision() == Precision.BF16 ? dnnl_bf16() : dnnl_f32();
        boolean anyLayout = key.blocked || kind == Kind.PHASES || operands != dnnl_f32();
        for (boolean blocked : anyLayout ? new boolean[]{true} : new boolean[]{false, true}) {
            int act = blocked ? dnnl_format_tag_any() : dnnl_nchw();
            // A kept blocked layout is computed in as it is: no reorder on the way in or out.
            int srcTag = key.src != Layout.NCHW && operands == dnnl_f32() ? tag(key.src) : act;
            int dstTag = key.dst != Layout.NCHW ? tag(key.dst)
                    // The phases are cut out of the result as sub-memories at channel offsets b·cout, which oneDNN
                    // can only do on a block boundary (8 channels with AVX2, 16 with AVX-512): plain otherwise.
                    : kind == Kind.PHASES && cout % 16 != 0 ? dnnl_nchw() : act;
            MemorySegment src = Dnnl.typedMd(arena, operands, srcTag, n, cin, h, w);
            MemorySegment dst = Dnnl.md(arena, dstTag, n, pcout, oh, ow);
            MemorySegment wei = Dnnl.typedMd(arena, operands, dnnl_format_tag_any(), source.dims());
            MemorySegment desc = dnnl_convolution_desc_t.allocate(arena);
            switch (kind) {
                case CONV -> OneDnn.check(dnnl_convolution_forward_desc_init(desc, dnnl_forward_inference(),
                        dnnl_convolution_direct(), src, wei, biasMd, dst, Dnnl.dims(arena, g.stride(), g.stride()),
                        Dnnl.dims(arena, g.padTop(), g.padLeft()), Dnnl.dims(arena, g.padBottom(), g.padRight())),
                        "dnnl_convolution_forward_desc_init", what);
                case DECONV -> OneDnn.check(dnnl_deconvolution_forward_desc_init(desc, dnnl_forward_inference(),
                        dnnl_deconvolution_direct(), src, wei, biasMd, dst, Dnnl.dims(arena, 2, 2),
                        Dnnl.dims(arena, 1, 1), Dnnl.dims(arena, 1, 1)), "dnnl_deconvolution_forward_desc_init",
                        what);
                case PHASES -> OneDnn.check(dnnl_convolution_forward_desc_init(desc, dnnl_forward_inference(),
                        dnnl_convolution_direct(), src, wei, biasMd, dst, Dnnl.dims(arena, 1, 1),
                        Dnnl.dims(arena, 1, 1), Dnnl.dims(arena, 1, 1)), "dnnl_convolution_forward_desc_init", what);
            }
            if (chosen != null) {
                Dnnl.destroyPrimitiveDesc(chosen);
            }
            chosen = createPd(desc, key.residual, engine, what);
            if (!Dnnl.implName(chosen).startsWith("ref")) {
                break;
            }
        }
        this.pd = chosen;
        MemorySegment prim = null;
        try {
            prim = Dnnl.primitive(pd, what);
            this.srcMd = Dnnl.queryMd(pd, dnnl_query_src_md());
            this.weightsMd = Dnnl.queryMd(pd, dnnl_query_weights_md());
            this.dstMd = Dnnl.queryMd(pd, dnnl_query_dst_md());
            this.scratchMd = Dnnl.queryMd(pd, dnnl_query_scratchpad_md());
            this.scratchBytes = Dnnl.size(scratchMd);
            this.impl = Dnnl.implName(pd);
            this.reference = impl.startsWith("ref");
            this.srcIn = Dnnl.equal(srcMd, userSrc) ? null : own(new Reorder(userSrc, srcMd, engine, what + " source"));
            this.interleave = kind == Kind.PHASES && key.dst != Layout.NCHW;
            if (interleave) {
                if (!Dnnl.equal(dstMd, Dnnl.md(arena, tag(key.dst), n, pcout, oh, ow))) {
                    throw new IllegalStateException(what + ": oneDNN wrote the phases in another layout than "
                            + key.dst);
                }
                this.dstOut = null;
                this.phases = null;
                this.phaseOffsets = null;
            } else if (kind == Kind.PHASES) {
                this.dstOut = null;
                this.phases = new Reorder[4];
                this.phaseOffsets = new long[4];
                // The output phase (py, px) is block b = 2·py + px of the channels, at positions shifted by
                // (py, px); it goes to rows 2y + py, columns 2x + px of the NCHW result.
                MemorySegment to = dnnl_memory_desc_t.allocate(arena);
                OneDnn.check(dnnl_memory_desc_init_by_strides(to, 4, Dnnl.dims(arena, n, cout, h, w), dnnl_f32(),
                        Dnnl.dims(arena, cout * 4 * h * w, 4 * h * w, 4 * w, 2)), "dnnl_memory_desc_init_by_strides",
                        what);
                for (int b = 0; b < 4; b++) {
                    int py = b / 2, px = b % 2;
                    MemorySegment from = dnnl_memory_desc_t.allocate(arena);
                    OneDnn.check(dnnl_memory_desc_init_submemory(from, dstMd, Dnnl.dims(arena, n, cout, h, w),
                            Dnnl.dims(arena, 0, b * cout, py, px)), "dnnl_memory_desc_init_submemory",
                            what + " phase " + b);
                    phases[b] = own(new Reorder(from, to, engine, what + " phase " + b));
                    phaseOffsets[b] = 4L * (py * 2 * w + px);
                }
            } else {
                this.phases = null;
                this.phaseOffsets = null;
                this.dstOut = Dnnl.equal(dstMd, userDst) ? null
                        : own(new Reorder(dstMd, userDst, engine, what + " result"));
            }
            this.residualIn = key.residual && dstOut != null
                    ? own(new Reorder(userDst, dstMd, engine, what + " residual")) : null;
            ExecContext ctx = backend.borrow();
            try {
                this.weights = conv.weights(weightsMd, kind, ctx);
            } finally {
                backend.giveBack(ctx);
            }
        } catch (RuntimeException | Error e) {
            closeOwned();
            Dnnl.destroyPrimitive(prim);
            Dnnl.destroyPrimitiveDesc(pd);
            arena.close();
            throw e;
        }
        this.primitive = prim;
        backend.logPlan(this);
    }

    private Reorder own(Reorder r) {
        owned.add(r);
        return r;
    }

    private MemorySegment createPd(MemorySegment desc, boolean residual, MemorySegment engine, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_POINTER);
            OneDnn.check(dnnl_primitive_attr_create(out), "dnnl_primitive_attr_create", what);
            MemorySegment attr = out.get(C_POINTER, 0);
            try {
                OneDnn.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user()),
                        "dnnl_primitive_attr_set_scratchpad_mode", what);
                if (residual) {
                    OneDnn.check(dnnl_post_ops_create(out), "dnnl_post_ops_create", what);
                    MemorySegment ops = out.get(C_POINTER, 0);
                    try {
                        OneDnn.check(dnnl_post_ops_append_sum(ops, 1f), "dnnl_post_ops_append_sum", what);
                        OneDnn.check(dnnl_primitive_attr_set_post_ops(attr, ops), "dnnl_primitive_attr_set_post_ops",
                                what);
                    } finally {
                        dnnl_post_ops_destroy(ops);
                    }
                }
                return Dnnl.primitiveDesc(desc, attr, engine, what);
            } finally {
                dnnl_primitive_attr_destroy(attr);
            }
        }
    }

    Key key() {
        return key;
    }

    /** The implementations oneDNN picked ("brgconv:avx512_core", "x64:gemm:jit", ...), for logs. */
    String describe() {
        StringBuilder s = new StringBuilder(conv.params().name() + " " + key + ": " + impl);
        if (srcIn != null) {
            s.append(", source reorder ").append(srcIn.impl());
        }
        if (dstOut != null) {
            s.append(", result reorder ").append(dstOut.impl());
        }
        if (phases != null) {
            s.append(", phase reorders ").append(phases[0].impl());
        }
        return s.toString();
    }

    /** oneDNN's format tag for one of our layouts. */
    static int tag(Layout layout) {
        return switch (layout) {
            case NCHW -> dnnl_nchw();
            case NCHW8C -> dnnl_nChw8c();
            case NCHW16C -> dnnl_nChw16c();
        };
    }

    String impl() {
        return impl;
    }

    /** True when oneDNN had only its reference implementation (plain loops, far slower than ours) for this. */
    boolean reference() {
        return reference || phases != null && phases[0].impl().startsWith("ref");
    }

    /**
     * out = conv(in) + bias (+ residual), or for the upsampling kinds conv(nearest2x(in)) + bias. {@code in} is in
     * the key's src layout, {@code residual} and {@code out} in its dst layout, float32 of this plan's shapes;
     * oneDNN reads and writes their memory in place, through copies only where the primitive wants another layout.
     */
    void run(ExecContext ctx, Tensor in, Tensor residual, Tensor out) {
        MemorySegment engine = conv.backend().engine();
        String what = conv.params().name();
        OneDnn.limitThreads(conv.backend().threads());
        MemorySegment src = null, wei = null, bia = null, dst = null, scratch = null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment srcData = in.data();
            if (srcIn != null) {
                srcData = ctx.buffer(ExecContext.SRC, Dnnl.size(srcMd));
                srcIn.run(ctx, a, in.data(), srcData);
            }
            MemorySegment dstData = dstOut != null || phases != null || interleave
                    ? ctx.buffer(ExecContext.DST, Dnnl.size(dstMd)) : out.data();
            if (key.residual) {
                if (residualIn != null) {
                    residualIn.run(ctx, a, residual.data(), dstData);
                } else {
                    MemorySegment.copy(residual.data(), 0, dstData, 0, residual.data().byteSize());
                }
            }
            src = Dnnl.memory(a, srcMd, engine, srcData);
            wei = Dnnl.memory(a, weightsMd, engine, weights);
            bia = Dnnl.memory(a, biasMd, engine, biasData);
            dst = Dnnl.memory(a, dstMd, engine, dstData);
            if (scratchBytes > 0) {
                scratch = Dnnl.memory(a, scratchMd, engine, ctx.buffer(ExecContext.SCRATCHPAD, scratchBytes));
                Dnnl.execute(primitive, ctx.stream, a, what, DNNL_ARG_SRC(), src, DNNL_ARG_WEIGHTS(), wei,
                        DNNL_ARG_BIAS(), bia, DNNL_ARG_DST(), dst, DNNL_ARG_SCRATCHPAD(), scratch);
            } else {
                Dnnl.execute(primitive, ctx.stream, a, what, DNNL_ARG_SRC(), src, DNNL_ARG_WEIGHTS(), wei,
                        DNNL_ARG_BIAS(), bia, DNNL_ARG_DST(), dst);
            }
            if (dstOut != null) {
                dstOut.run(ctx, a, dstData, out.data());
            }
            if (phases != null) {
                for (int b = 0; b < 4; b++) {
                    phases[b].run(ctx, a, dstData, out.data().asSlice(phaseOffsets[b]));
                }
            }
            if (interleave) {
                BlockedKernels.interleavePhases(conv.backend().vector().parallel(), dstData, out);
            }
        } finally {
            for (MemorySegment m : new MemorySegment[]{src, wei, bia, dst, scratch}) {
                Dnnl.destroyMemory(m);
            }
        }
    }

    private void closeOwned() {
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        owned.clear();
    }

    @Override
    public void close() {
        closeOwned();
        Dnnl.destroyPrimitive(primitive);
        Dnnl.destroyPrimitiveDesc(pd);
        arena.close();
    }

    /** A reorder primitive between two layouts of the same float32 tensor. */
    static final class Reorder implements AutoCloseable {
        private final MemorySegment from;
        private final MemorySegment to;
        private final MemorySegment pd;
        private final MemorySegment primitive;
        private final MemorySegment engine;
        private final String what;

        Reorder(MemorySegment from, MemorySegment to, MemorySegment engine, String what) {
            this.from = from;
            this.to = to;
            this.engine = engine;
            this.what = what;
            this.pd = Dnnl.reorderDesc(from, to, engine, what);
            try {
                this.primitive = Dnnl.primitive(pd, what);
            } catch (RuntimeException e) {
                Dnnl.destroyPrimitiveDesc(pd);
                throw e;
            }
        }

        String impl() {
            return Dnnl.implName(pd);
        }

        void run(ExecContext ctx, Arena a, MemorySegment fromData, MemorySegment toData) {
            MemorySegment src = null, dst = null;
            try {
                src = Dnnl.memory(a, from, engine, fromData);
                dst = Dnnl.memory(a, to, engine, toData);
                Dnnl.execute(primitive, ctx.stream, a, what, DNNL_ARG_FROM(), src, DNNL_ARG_TO(), dst);
            } finally {
                Dnnl.destroyMemory(src);
                Dnnl.destroyMemory(dst);
            }
        }

        @Override
        public void close() {
            Dnnl.destroyPrimitive(primitive);
            Dnnl.destroyPrimitiveDesc(pd);
        }
    }
}
