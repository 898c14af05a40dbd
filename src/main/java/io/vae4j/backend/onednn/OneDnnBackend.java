package io.vae4j.backend.onednn;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.backend.BackendLog;
import io.vae4j.backend.Checks;
import io.vae4j.backend.GroupNormSpec;
import io.vae4j.backend.Precision;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.PreparedConv;
import io.vae4j.backend.vector.BlockedKernels;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.tensor.Layout;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * Convolutions by oneDNN (through the FFM bindings in {@code ffm/}), everything else by an internal
 * {@link VectorBackend} with the same thread count. Activations stay NCHW float32 at every call: oneDNN reads and
 * writes our tensors' memory in place, reordering into its blocked layout and back inside a call where that is
 * faster. Primitives are made once per convolution and input shape, weights reordered once per layout; all of it
 * is thread-safe. {@link #close()} frees the streams, buffers and worker threads (the prepared convolutions are
 * freed by their own close, as with every backend; the CPU engine is one per process and never freed).
 */
public final class OneDnnBackend implements Backend, AutoCloseable {

    /** Where a convolution's source and destination live while oneDNN runs it. */
    public enum ConvLayout {
        /** Our NCHW tensors, read and written in place (oneDNN runs its im2col+GEMM kernels on them). */
        PLAIN,
        /**
         * The layout oneDNN prefers for the shape (NHWC for its brgconv kernels, nChw16c for others), with a
         * reorder of the source in and of the result out.
         */
        BLOCKED,
        /** PLAIN for 1x1 kernels, BLOCKED for the rest: the faster of the two on every SD decoder shape. */
        AUTO
    }

    /** How conv(nearest2x(x)) is computed when the convolution is 3x3, stride 1, padding 1. */
    public enum UpsampleConv {
        /** One 2x2 convolution of x to the four output phases, scattered by strided reorders (16/36 the work). */
        PHASES,
        /** One stride-2 transposed convolution of x with 4x4 weights (16/36 the work). */
        DECONV,
        /** Upsample with the Vector API, then the 3x3 convolution. */
        MATERIALIZE
    }

    /**
     * Tuning switches; the defaults are the fastest measured (README). {@link #fromSystemProperties} reads
     * {@code vae4j.onednn.layout} (auto, plain or blocked), {@code vae4j.onednn.upsample} (phases, deconv or
     * materialize, see {@link UpsampleConv}), {@code vae4j.onednn.sum} (true: the residual add as the
     * convolution's sum post-op; false: a separate add) and {@code vae4j.onednn.keep} (true: activations stay in
     * oneDNN's channel-blocked layout between layers; false: NCHW at every call), so that benchmarks can compare.
     *
     * @param keepBlocked in float32, convolutions whose output channels fill whole blocks write nChw16c (nChw8c
     *                    with 256-bit vectors), which the next layers read as it is; layout is then ignored
     */
    public record Options(ConvLayout layout, UpsampleConv upsample, boolean sumPostOp, boolean keepBlocked) {
        public static final Options DEFAULT = new Options(ConvLayout.AUTO, UpsampleConv.PHASES, true, true);

        public static Options fromSystemProperties() {
            return new Options(
                    ConvLayout.valueOf(System.getProperty("vae4j.onednn.layout", "auto").toUpperCase(Locale.ROOT)),
                    UpsampleConv.valueOf(System.getProperty("vae4j.onednn.upsample", "phases")
                            .toUpperCase(Locale.ROOT)),
                    !"false".equals(System.getProperty("vae4j.onednn.sum", "true")),
                    !"false".equals(System.getProperty("vae4j.onednn.keep", "true")));
        }

        boolean blocked(ConvParams conv) {
            return switch (layout) {
                case PLAIN -> false;
                case BLOCKED -> true;
                case AUTO -> conv.geometry().kernel() != 1;
            };
        }
    }

    private final int threads;
    private final Options options;
    private final Precision precision;
    private final int bf16MinChannels;
    private final VectorBackend vector;
    /** bf16 Winograd: the products of the Vector API's Winograd F(4x4) on oneDNN's bf16 matmul (null: not used). */
    private final OneDnnProducts products;
    private final MemorySegment engine;
    private final ExecContexts contexts;
    /** The channel-blocked layout activations stay in between layers, or null: NCHW at every call. */
    private final Layout kept;
    private final boolean verbose = Boolean.getBoolean("vae4j.onednn.verbose");

    public OneDnnBackend(int threads) {
        this(threads, Options.fromSystemProperties());
    }

    public OneDnnBackend(int threads, Options options) {
        this(threads, options, Precision.FP32);
    }

    public OneDnnBackend(int threads, Precision precision) {
        this(threads, Options.fromSystemProperties(), precision);
    }

    /**
     * @param precision BF16: the convolutions it runs on oneDNN read bfloat16 sources and weights and accumulate in
     *                  float32 (results stay float32); needs oneDNN's avx512_core_bf16 kernels, refused without
     */
    public OneDnnBackend(int threads, Options options, Precision precision) {
        this(threads, options, precision, Integer.getInteger("vae4j.bf16.minChannels", BF16_MIN_CHANNELS));
    }

    /**
     * In bf16, every convolution runs on oneDNN by default. Alone, those of fewer than 512 input channels measured
     * faster as float32 Winograd on the Vector API, but in the whole SD decode, keeping them there (threshold 512)
     * was 15-20% slower than all on oneDNN (README, "Precision"), so the threshold is for measuring.
     */
    public static final int BF16_MIN_CHANNELS = 0;

    /**
     * @param bf16MinChannels with BF16, the fewest input channels a convolution needs to run on oneDNN in bf16;
     *                        those with fewer run on the Vector API in float32 (0: every one on oneDNN)
     */
    public OneDnnBackend(int threads, Options options, Precision precision, int bf16MinChannels) {
        this(threads, options, precision, bf16MinChannels, BF16_WINOGRAD);
    }

    /**
     * @param bf16Winograd with BF16, run stride-1 3x3 convolutions as the Vector API's Winograd F(4x4) with bf16
     *                     products on oneDNN's matmul (false: oneDNN's direct bf16 convolutions)
     */
    public OneDnnBackend(int threads, Options options, Precision precision, int bf16MinChannels,
                         boolean bf16Winograd) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        if (!OneDnn.available()) {
            throw new VaeException("the onednn backend needs oneDNN: " + OneDnn.unavailableReason());
        }
        if (precision == Precision.BF16 && !OneDnn.hasBf16Kernels()) {
            throw new VaeException("--precision bf16 needs oneDNN's avx512_core_bf16 kernels (a CPU with"
                    + " AVX512_BF16); " + OneDnn.describe() + " has none here");
        }
        this.threads = threads;
        this.options = options;
        this.precision = precision;
        this.bf16MinChannels = bf16MinChannels;
        if (precision == Precision.BF16 && bf16MinChannels > 0) {
            log("bf16: convolutions of " + bf16MinChannels + "+ input channels on oneDNN in bf16, the others"
                    + " in fp32 on the Vector API");
        }
        this.engine = OneDnn.engine();
        this.contexts = new ExecContexts(engine, "onednn backend");
        // One OpenMP thread per call: Winograd4x4Bf16 splits the products over the Java threads itself.
        this.products = precision == Precision.BF16 && bf16Winograd ? new OneDnnProducts(1) : null;
        this.vector = products != null ? new VectorBackend(threads, products) : new VectorBackend(threads);
        this.kept = options.keepBlocked && precision == Precision.FP32 ? BlockedKernels.nativeLayout() : null;
    }

    /**
     * In bf16, stride-1 3x3 convolutions run as the Vector API's Winograd F(4x4) with its 36 products on oneDNN's
     * bf16 matmul (README, "Precision"); -Dvae4j.bf16.winograd=false runs them as oneDNN's direct bf16
     * convolutions instead, for measuring.
     */
    public static final boolean BF16_WINOGRAD = !"false".equals(System.getProperty("vae4j.bf16.winograd"));

    /** True when bf16 stride-1 3x3 convolutions run as Winograd with oneDNN matmul products. */
    public boolean bf16Winograd() {
        return products != null;
    }

    @Override
    public String name() {
        return "onednn";
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public Precision precision() {
        return precision;
    }

    public Options options() {
        return options;
    }

    /** The layout activations stay in between layers (channel counts permitting), or null for NCHW throughout. */
    public Layout keptLayout() {
        return kept;
    }

    /** Where a convolution with {@code out} channels writes: the kept layout when they fill its blocks. */
    private Layout outLayout(int out) {
        return kept != null && kept.holds(out) ? kept : Layout.NCHW;
    }

    @Override
    public Tensor toNchw(Tensor t) {
        if (t.layout() == Layout.NCHW) {
            return t;
        }
        Checks.activation(t, "to NCHW", kept);
        return BlockedKernels.toNchw(vector.parallel(), t);
    }

    /**
     * t, NCHW or {@link #kept}, in {@code layout}, one of the two: itself when it already is, else a converted copy
     * the caller closes besides t.
     */
    private Tensor inLayout(Tensor t, Layout layout) {
        if (t.layout() == layout) {
            return t;
        }
        return layout == Layout.NCHW ? toNchw(t) : BlockedKernels.fromNchw(vector.parallel(), t, layout);
    }

    /** Closes the converted copy {@link #inLayout} or {@link #toNchw} made, if it made one. */
    private static void closeCopy(Tensor copy, Tensor original) {
        if (copy != original) {
            copy.close();
        }
    }

    MemorySegment engine() {
        return engine;
    }

    /** The Vector API backend that runs the non-convolution kernels. */
    public VectorBackend vector() {
        return vector;
    }

    ExecContext borrow() {
        return contexts.borrow();
    }

    void giveBack(ExecContext c) {
        contexts.giveBack(c);
    }

    void logPlan(ConvPlan plan) {
        if (verbose) {
            System.err.println("vae4j: onednn plan " + plan.describe());
        }
    }

    @Override
    public PreparedConv prepareConv(ConvParams params) {
        return new OneDnnConv(this, params);
    }

    /**
     * False for the bf16 mode's convolutions that the Vector API backend runs: Winograd ones (with bf16 products),
     * 1x1 ones (in float32: on oneDNN their NHWC reorders cost more than bf16 saved, and at 1024x1024 their buffers
     * were hundreds of MB; measured encode 512 on one thread 6.8 -> 5.4 s of CPU), and below
     * {@code bf16MinChannels} the others, in float32.
     */
    boolean onOneDnn(PreparedConv conv) {
        ConvParams p = conv.params();
        return onOneDnn(p.geometry(), p.inChannels(), p.outChannels());
    }

    private boolean onOneDnn(ConvGeometry g, int in, int out) {
        if (precision == Precision.FP32) {
            return true;
        }
        if (products != null && (VectorBackend.winograd(g, in, out) || g.kernel() == 1)) {
            return false;
        }
        return in >= bf16MinChannels;
    }

    /** oneDNN keeps its packed weights in RAM; the convolutions routed to the Vector API keep theirs in scratch. */
    @Override
    public long scratchWeightBytes(ConvGeometry g, int in, int out, boolean upsampled) {
        return onOneDnn(g, in, out) ? 0 : vector.scratchWeightBytes(g, in, out, upsampled);
    }

    @Override
    public Tensor normConv2d(Tensor in, GroupNormSpec norm, PreparedConv conv, Tensor residual) {
        if (!onOneDnn(conv)) {
            return vector.normConv2d(in, norm, ((OneDnnConv) conv).vectorConv(), residual);
        }
        return Backend.super.normConv2d(in, norm, conv, residual);
    }

    /** In place on the Vector API where it runs the convolution; the default (norm, then conv) on oneDNN. */
    @Override
    public Tensor normConv2dOverResidual(Tensor in, GroupNormSpec norm, PreparedConv conv, Tensor residual) {
        if (!onOneDnn(conv)) {
            return vector.normConv2dOverResidual(in, norm, ((OneDnnConv) conv).vectorConv(), residual);
        }
        return Backend.super.normConv2dOverResidual(in, norm, conv, residual);
    }

    @Override
    public Tensor conv2d(Tensor in, PreparedConv conv, Tensor residual) {
        if (!onOneDnn(conv)) {
            return vector.conv2d(in, ((OneDnnConv) conv).vectorConv(), residual);
        }
        Checks.conv(in, conv, 1, kept);
        int[] outShape = Checks.convOutShape(in, conv, 1);
        if (residual != null) {
            Checks.activation(residual, conv.params().name() + " residual", kept);
            Checks.residual(residual, outShape, conv.params().name());
        }
        return convolve(in, (OneDnnConv) conv, residual, ConvPlan.Kind.CONV, outShape);
    }

    private ConvPlan plan(Tensor in, OneDnnConv conv, boolean residual, ConvPlan.Kind kind, Layout out) {
        return conv.plan(new ConvPlan.Key(in.dim(0), in.dim(2), in.dim(3), residual, kind,
                kind != ConvPlan.Kind.CONV || options.blocked(conv.params()), in.layout(), out));
    }

    private Tensor convolve(Tensor in, OneDnnConv conv, Tensor residual, ConvPlan.Kind kind, int[] outShape) {
        boolean fuseSum = residual != null && options.sumPostOp;
        Layout layout = outLayout(outShape[1]);
        ConvPlan plan = plan(in, conv, fuseSum, kind, layout);
        Tensor res = residual == null ? null : inLayout(residual, layout);
        Tensor out = Tensor.uninitialized(layout, outShape);
        ExecContext ctx = borrow();
        try {
            plan.run(ctx, in, fuseSum ? res : null, out);
            if (res != null && !fuseSum) {
                try (Tensor sum = out) {
                    out = add(sum, res);
                }
            }
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        } finally {
            giveBack(ctx);
            if (res != null) {
                closeCopy(res, residual);
            }
        }
    }

    @Override
    public Tensor upsampleConv2d(Tensor in, PreparedConv prepared) {
        if (!onOneDnn(prepared)) {
            return vector.upsampleConv2d(in, ((OneDnnConv) prepared).vectorConv());
        }
        Checks.conv(in, prepared, 2, kept);
        OneDnnConv conv = (OneDnnConv) prepared;
        ConvGeometry g = conv.params().geometry();
        if (options.upsample != UpsampleConv.MATERIALIZE && g.equals(ConvGeometry.same3x3())) {
            ConvPlan.Kind kind = options.upsample == UpsampleConv.PHASES ? ConvPlan.Kind.PHASES : ConvPlan.Kind.DECONV;
            int[] outShape = Checks.convOutShape(in, conv, 2);
            if (!plan(in, conv, false, kind, outLayout(outShape[1])).reference()) {
                return convolve(in, conv, null, kind, outShape);
            }
        }
        if (g.equals(ConvGeometry.pointwise())) {
            // A 1x1 convolution commutes with the nearest upsample: convolve the small input, then upsample.
            try (Tensor small = convolve(in, conv, null, ConvPlan.Kind.CONV, Checks.convOutShape(in, conv, 1))) {
                return upsampleNearest2x(small);
            }
        }
        try (Tensor up = upsampleNearest2x(in)) {
            return convolve(up, conv, null, ConvPlan.Kind.CONV, Checks.convOutShape(up, conv, 1));
        }
    }

    /** The Vector API's kernels, on NCHW or on the kept layout (frozen statistics of tiled decoding too). */
    @Override
    public Tensor groupNorm(Tensor in, GroupNormSpec norm) {
        if (in.layout() == Layout.NCHW) {
            return vector.groupNorm(in, norm);
        }
        Checks.groupNorm(in, norm.gamma(), norm.beta(), norm.groups(), kept);
        return BlockedKernels.groupNorm(vector.parallel(), in, norm);
    }

    @Override
    public Tensor upsampleNearest2x(Tensor in) {
        if (in.layout() == Layout.NCHW) {
            return vector.upsampleNearest2x(in);
        }
        Checks.activation(in, "upsample", kept);
        return BlockedKernels.upsampleNearest2x(vector.parallel(), in);
    }

    /** On NCHW copies (the attention kernel reads tokens as rows of pixels); the result is NCHW. */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v) {
        Tensor qn = toNchw(q), kn = toNchw(k), vn = toNchw(v);
        try {
            return vector.attention(qn, kn, vn);
        } finally {
            closeCopy(qn, q);
            closeCopy(kn, k);
            closeCopy(vn, v);
        }
    }

    /** Elementwise: on the memory as it is when a and b share a layout (the kept one holds no padding). */
    @Override
    public Tensor add(Tensor a, Tensor b) {
        if (a.layout() == b.layout()) {
            return elementwise(vector.add(asNchwView(a), asNchwView(b)), a.layout());
        }
        Tensor an = toNchw(a), bn = toNchw(b);
        try {
            return vector.add(an, bn);
        } finally {
            closeCopy(an, a);
            closeCopy(bn, b);
        }
    }

    @Override
    public Tensor map(Tensor in, Activation activation) {
        return elementwise(vector.map(asNchwView(in), activation), in.layout());
    }

    /** The memory of t seen as NCHW, for elementwise kernels, where the order of the elements does not matter. */
    private static Tensor asNchwView(Tensor t) {
        return t.layout() == Layout.NCHW ? t : Tensor.view(t.data(), t.dtype(), t.shape());
    }

    private static Tensor elementwise(Tensor result, Layout layout) {
        return layout == Layout.NCHW ? result : result.inLayout(layout);
    }

    @Override
    public void close() {
        if (contexts.closed()) {
            return;
        }
        contexts.close();
        vector.parallel().close();
        if (products != null) {
            products.close();
        }
    }

    static void log(String message) {
        BackendLog.info(message);
    }
}
