package io.vae4j.backend.vector;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Checks;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.GroupNormSpec;
import io.vae4j.backend.OnePass;
import io.vae4j.backend.Parallel;
import io.vae4j.backend.Precision;
import io.vae4j.backend.PreparedConv;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.function.IntFunction;

/**
 * The portable backend: every kernel in the JDK's Vector API, all of them multi-threaded. Convolutions and attention
 * run on {@link GemmKernel}; the rest are single-pass loops over contiguous rows.
 */
public final class VectorBackend implements Backend {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Bytes of B one tile of a convolution should touch, so it stays in L2 while every output channel uses it. */
    private static final long TILE_B_BYTES = 256 * 1024;

    /** How stride-1 3x3 convolutions run: directly, or by Winograd with 2x2, 4x4 or 6x6 output tiles. */
    public enum Winograd {
        OFF, F2X2, F4X4, F6X6;

        /** The fastest tile that keeps the conformance tolerances. */
        public static final Winograd BEST = F4X4;

        /** Floats of the weight transform per (output, input) channel pair: one per point of the input tile. */
        int transformFloats() {
            return switch (this) {
                case OFF -> 0;
                case F2X2 -> 16;
                case F4X4 -> 36;
                case F6X6 -> 64;
            };
        }

        /** -Dvae4j.winograd=false|2x2|4x4|6x6 (for comparisons); anything else is {@link #BEST}. */
        static Winograd fromProperty(String value) {
            return switch (value == null ? "" : value) {
                case "false", "off" -> OFF;
                case "2x2" -> F2X2;
                case "4x4" -> F4X4;
                case "6x6" -> F6X6;
                default -> BEST;
            };
        }
    }

    private static final Winograd WINOGRAD_DEFAULT = Winograd.fromProperty(System.getProperty("vae4j.winograd"));

    private final Parallel parallel;
    private final Winograd winograd;
    /** Where the Winograd products run in bf16; null: everything in float32 here. */
    private final WinogradProducts products;
    private final int bf16MinChannels;

    public VectorBackend(int threads) {
        this(threads, WINOGRAD_DEFAULT);
    }

    /** @param winograd whether stride-1 3x3 convolutions use Winograd (with the default tile) */
    public VectorBackend(int threads, boolean winograd) {
        this(threads, winograd ? (WINOGRAD_DEFAULT == Winograd.OFF ? Winograd.BEST : WINOGRAD_DEFAULT) : Winograd.OFF);
    }

    public VectorBackend(int threads, Winograd winograd) {
        this(threads, winograd, null, 0);
    }

    /**
     * A bf16 backend: stride-1 3x3 convolutions (of {@link Winograd4x4Bf16#MIN_CHANNELS}+ input channels) run as
     * Winograd F(4x4) whose 36 products {@code products} computes in bf16 ({@link Winograd4x4Bf16}); everything
     * else stays float32. The owner of
     * {@code products} closes it.
     */
    public VectorBackend(int threads, WinogradProducts products) {
        this(threads, products, Winograd4x4Bf16.MIN_CHANNELS);
    }

    /** As {@link #VectorBackend(int, WinogradProducts)}, with bf16 products from {@code minChannels} input channels. */
    public VectorBackend(int threads, WinogradProducts products, int minChannels) {
        this(threads, Winograd.F4X4, java.util.Objects.requireNonNull(products), minChannels);
    }

    private VectorBackend(int threads, Winograd winograd, WinogradProducts products, int bf16MinChannels) {
        this.parallel = new Parallel(threads);
        this.winograd = winograd;
        this.products = products;
        this.bf16MinChannels = bf16MinChannels;
    }

    /** BF16 when the Winograd products run in bf16 (see {@link #VectorBackend(int, WinogradProducts)}). */
    @Override
    public Precision precision() {
        return products == null ? Precision.FP32 : Precision.BF16;
    }

    /** Whether a convolution of this shape runs as Winograd here (stride-1 3x3, at least 8 channels in and out). */
    public static boolean winograd(ConvGeometry g, int in, int out) {
        return Winograd2x2.applies(g, in, out);
    }

    @Override
    public String name() {
        return "java";
    }

    @Override
    public int threads() {
        return parallel.threads();
    }

    /** The width of the vectors the kernels run on, in floats. */
    public static int vectorLength() {
        return L;
    }

    @Override
    public PreparedConv prepareConv(ConvParams params) {
        ConvGeometry g = params.geometry();
        int in = params.inChannels(), out = params.outChannels();
        return new VectorConv(params, tile(g, in, out), bf16(g, in, out));
    }

    /** Whether a convolution of this shape runs with its Winograd products in bf16 (on {@link #products}). */
    private boolean bf16(ConvGeometry g, int in, int out) {
        return products != null && tile(g, in, out) == Winograd.F4X4 && in >= bf16MinChannels;
    }

    /** How a convolution of this shape runs: by Winograd where it applies, else directly. */
    private Winograd tile(ConvGeometry g, int in, int out) {
        return Winograd2x2.applies(g, in, out) ? winograd : Winograd.OFF;
    }

    /** The Winograd transform, which a scratch run keeps in its space (see {@link VectorConv#winograd}). */
    @Override
    public long scratchWeightBytes(ConvGeometry g, int in, int out, boolean upsampled) {
        Winograd tile = tile(g, in, out);
        long floats = upsampled && VectorConv.upsampledWinograd(tile, out) ? Winograd4x4Upsample.TRANSFORM_FLOATS
                : tile.transformFloats();
        return floats * out * in * (bf16(g, in, out) ? 2 : Float.BYTES);
    }

    @Override
    public Tensor conv2d(Tensor in, PreparedConv conv, Tensor residual) {
        return convolve(in, conv, residual, false, 1, null);
    }

    /** ReLU is applied as the float32 F(4x4) convolutions store their output; the rest run {@link #map} after. */
    @Override
    public Tensor conv2d(Tensor in, PreparedConv conv, Tensor residual, Activation activation) {
        VectorConv w = (VectorConv) conv;
        if (activation != Activation.RELU || w.tile() != Winograd.F4X4 || w.bf16()) {
            return Backend.super.conv2d(in, conv, residual, activation);
        }
        return convolve(in, conv, residual, false, 1, null, true);
    }

    @Override
    public Tensor upsampleConv2d(Tensor in, PreparedConv conv) {
        return convolve(in, conv, null, false, 2, null);
    }

    /** The normalisation is applied while the convolution copies its input into planes; 1x1 ones read in place. */
    @Override
    public Tensor normConv2d(Tensor in, GroupNormSpec norm, PreparedConv conv, Tensor residual) {
        if (conv.params().geometry().kernel() == 1) {
            return Backend.super.normConv2d(in, norm, conv, residual);
        }
        return normConvolve(in, norm, conv, residual, false);
    }

    /** In place except for 1x1 convolutions, whose GEMM writes the output before the residual is added. */
    @Override
    public Tensor normConv2dOverResidual(Tensor in, GroupNormSpec norm, PreparedConv conv, Tensor residual) {
        if (conv.params().geometry().kernel() == 1 || !residual.owned()) {
            return Backend.super.normConv2dOverResidual(in, norm, conv, residual);
        }
        return normConvolve(in, norm, conv, residual, true);
    }

    private Tensor normConvolve(Tensor in, GroupNormSpec norm, PreparedConv conv, Tensor residual,
                                boolean overResidual) {
        Checks.groupNorm(in, norm.gamma(), norm.beta(), norm.groups());
        float[][] affine = affine(in, norm);
        return convolve(in, conv, residual, overResidual, 1, n -> {
            int c = in.dim(1);
            ChannelNorm[] perChannel = new ChannelNorm[c];
            for (int ch = 0; ch < c; ch++) {
                perChannel[ch] = new ChannelNorm(affine[0][n * c + ch], affine[1][n * c + ch], norm.silu());
            }
            return perChannel;
        });
    }

    /**
     * @param overResidual write the result over {@code residual} (every kernel but the 1x1 one reads a residual
     *                     element only where it writes the same output element)
     */
    private Tensor convolve(Tensor in, PreparedConv prepared, Tensor residual, boolean overResidual, int upsample,
                            IntFunction<ChannelNorm[]> norms) {
        return convolve(in, prepared, residual, overResidual, upsample, norms, false);
    }

    /** @param relu ReLU on the output, as it is stored; only the float32 F(4x4) path takes it ({@link #conv2d}) */
    private Tensor convolve(Tensor in, PreparedConv prepared, Tensor residual, boolean overResidual, int upsample,
                            IntFunction<ChannelNorm[]> norms, boolean relu) {
        Checks.conv(in, prepared, upsample);
        VectorConv w = (VectorConv) prepared;
        int[] outShape = Checks.convOutShape(in, prepared, upsample);
        Checks.residual(residual, outShape, prepared.params().name());
        Tensor out = overResidual ? residual : Tensor.uninitialized(outShape);
        var g = prepared.params().geometry();
        boolean direct = g.kernel() == 1 && g.stride() == 1 && upsample == 1
                && g.padTop() + g.padLeft() + g.padBottom() + g.padRight() == 0;
        Winograd tile = w.tile();
        boolean upsampled = upsample == 2 && residual == null && w.upsampledWinograd();
        Tensor u = tile == Winograd.OFF ? null : w.winograd(upsampled, parallel);
        for (int n = 0; n < in.dim(0); n++) {
            ChannelNorm[] norm = norms == null ? null : norms.apply(n);
            if (upsampled && w.bf16()) {
                Winograd4x4UpsampleBf16.convolve(parallel, products, in, n, u, w.bias(), out, norm);
            } else if (upsampled) {
                Winograd4x4Upsample.convolve(parallel, in, n, u, w.bias(), out, norm);
            } else if (w.bf16()) {
                Winograd4x4Bf16.convolve(parallel, products, in, n, u, w.bias(), residual, out, upsample, norm);
            } else if (tile == Winograd.F6X6) {
                Winograd6x6.convolve(parallel, in, n, u, w.bias(), residual, out, upsample, norm);
            } else if (tile == Winograd.F4X4) {
                Winograd4x4.convolve(parallel, in, n, u, w.bias(), residual, out, upsample, norm, relu);
            } else if (tile == Winograd.F2X2) {
                Winograd2x2.convolve(parallel, in, n, u, w.bias(), residual, out, upsample, norm);
            } else if (direct) {
                pointwise(in, n, w, residual, out);
            } else {
                planar(in, n, w, residual, out, upsample, norm);
            }
        }
        if (OnePass.active() && w.cachedInRam(u)) {
            w.release(upsampled);
        }
        return out;
    }

    /**
     * A 1x1 convolution is a GEMM of the weights with the input: [out][in] · [in][pixels], with the weights in 8-row
     * panels where the output channels allow ({@link #pointwiseStrip}), else with the input read in place.
     */
    private void pointwise(Tensor in, int n, VectorConv w, Tensor residual, Tensor out) {
        int cin = in.dim(1), cout = out.dim(1);
        int pixels = in.dim(2) * in.dim(3);
        long inOff = (long) n * cin * pixels, outOff = (long) n * cout * pixels;
        boolean packed = Winograd4x4.packed(cout);
        long[] bRow = packed ? null : rows(cin, pixels);
        int strip = stripLength(cin, 1, pixels);
        int strips = ceilDiv(pixels, strip);
        int groups = channelGroups(cout, strips);
        int groupSize = roundUp(ceilDiv(cout, groups), GemmKernel.MR);
        parallel.forEach(strips * groups, task -> {
            int j0 = (task / groups) * strip, j1 = Math.min(pixels, j0 + strip);
            int i0 = (task % groups) * groupSize, i1 = Math.min(cout, i0 + groupSize);
            if (i0 >= i1) {
                return;
            }
            if (packed) {
                pointwiseStrip(w.panels(), cin, i0, i1, in.data(), inOff, pixels, j0, j1, out.data(), outOff);
            } else {
                GemmKernel.multiply(w.weight().data(), 0, cin, i0, i1, cin, in.data(), inOff, bRow, j0, j1, false,
                        out.data(), outOff, pixels);
            }
            ScratchSpace.checkpoint();
            for (int i = i0; i < i1; i++) {
                long row = outOff + (long) i * pixels;
                addBiasResidual(out.data(), row + j0, out.data(), row + j0, w.bias()[i], residual, row + j0,
                        j1 - j0);
            }
        });
    }

    /**
     * Output rows [i0, i1) (a multiple of 8), pixels [j0, j1) of a 1x1 convolution on the packed micro-kernel: the
     * strip's input is copied into contiguous [in][NR] panels first, then each 8-row panel of weights runs along
     * them, so its output rows are written front to back. Read in place, the kernel's B rows were a whole image
     * plane apart, a stride no prefetcher follows, and each 4-row block read them all again (measured on AVX2: the
     * 1x1 GEMM at about half the FMA ceiling, 7% of a decode); written panel by panel, every output row of the
     * strip took 96 bytes at a time, which made a 512x512 one slower than before.
     *
     * <p>A strip's blocks are all NR columns wide: where the strip is not a multiple of NR, its last block starts
     * NR columns before the strip's end and computes again some columns of the one before, with the same values.
     * A narrower last block, copied with masks and multiplied into a buffer, was a case C2 had not met when it
     * compiled the method (only a convolution's last strip has one), and after the trap every 1x1 convolution of
     * an SD encode ran its copies on C1's code for 2-4 s. Strips narrower than NR (images under 24 pixels) take
     * {@link #pointwiseNarrow}.
     */
    private static void pointwiseStrip(Tensor panels, int cin, int i0, int i1, MemorySegment in, long inOff,
                                       int pixels, int j0, int j1, MemorySegment out, long outOff) {
        int nr = GemmKernel.NR;
        if (j1 - j0 < nr) {
            pointwiseNarrow(panels, cin, i0, i1, in, inOff, pixels, j0, j1, out, outOff);
            return;
        }
        int blocks = ceilDiv(j1 - j0, nr);
        long panel = (long) cin * nr;
        MemorySegment b = Scratch.floats(blocks * panel);
        for (int q = 0; q < blocks; q++) {
            int j = Math.min(j0 + q * nr, j1 - nr);
            for (int k = 0; k < cin; k++) {
                long from = (inOff + (long) k * pixels + j) * 4, to = (q * panel + (long) k * nr) * 4;
                for (int c = 0; c < nr; c += L) {
                    FloatVector.fromMemorySegment(S, in, from + 4L * c, LE).intoMemorySegment(b, to + 4L * c, LE);
                }
            }
        }
        for (int i = i0; i < i1; i += 8) {
            for (int q = 0; q < blocks; q++) {
                int j = Math.min(j0 + q * nr, j1 - nr);
                GemmKernel.multiplyPacked(panels.data(), (long) i * cin, 8, cin, b, q * panel, out,
                        outOff + (long) i * pixels + j, pixels);
            }
        }
    }

    /** {@link #pointwiseStrip} for a strip narrower than NR: its one block copied with masks, multiplied aside. */
    private static void pointwiseNarrow(Tensor panels, int cin, int i0, int i1, MemorySegment in, long inOff,
                                        int pixels, int j0, int j1, MemorySegment out, long outOff) {
        int nr = GemmKernel.NR, cols = j1 - j0;
        long cTmp = (long) cin * nr;
        MemorySegment b = Scratch.floats(cTmp + 8L * nr);
        for (int k = 0; k < cin; k++) {
            long from = (inOff + (long) k * pixels + j0) * 4, to = (long) k * nr * 4;
            for (int c = 0; c < nr; c += L) {
                VectorMask<Float> m = S.indexInRange(c, cols);
                FloatVector.fromMemorySegment(S, in, from + 4L * c, LE, m).intoMemorySegment(b, to + 4L * c, LE);
            }
        }
        for (int i = i0; i < i1; i += 8) {
            GemmKernel.multiplyPacked(panels.data(), (long) i * cin, 8, cin, b, 0, b, cTmp, nr);
            for (int r = 0; r < 8; r++) {
                MemorySegment.copy(b, (cTmp + (long) r * nr) * 4, out, (outOff + (long) (i + r) * pixels + j0) * 4,
                        cols * 4L);
            }
        }
    }

    /** Any other convolution: build phase planes of the padded input, then one GEMM per tile of output rows. */
    private void planar(Tensor in, int n, VectorConv w, Tensor residual, Tensor out, int upsample,
                        ChannelNorm[] norm) {
        var g = w.params().geometry();
        int cin = in.dim(1), cout = out.dim(1);
        int outH = out.dim(2), outW = out.dim(3);
        long inOff = (long) n * cin * in.dim(2) * in.dim(3);
        long outOff = (long) n * cout * outH * outW;
        ConvPlanes first = new ConvPlanes(g, cin, in.dim(2), in.dim(3), upsample, 0,
                bandRows(g.stride() * g.stride() * (long) cin, outW * upsample + g.kernel(), outH));
        int kk = g.kernel() * g.kernel();
        boolean packed = Winograd4x4.packed(cout);
        try (Tensor planes = bandBuffer(first.floats)) {
            MemorySegment pl = planes.data();
            for (int r0 = 0; r0 < outH; r0 += first.outRows) {
                ConvPlanes p = r0 == 0 ? first
                        : new ConvPlanes(g, cin, in.dim(2), in.dim(3), upsample, r0, first.outRows);
                pl.asSlice(p.filled * 4).fill((byte) 0);
                parallel.forEach(cin, ci -> p.fill(in.data(), inOff, ci, pl, norm == null ? null : norm[ci]));
                long flat = p.flatOut();
                int strip = packed ? packedStripLength(cin * kk, flat) : stripLength(cin, g.kernel(), flat);
                int strips = (int) ceilDiv(flat, strip);
                int groups = channelGroups(cout, strips);
                int groupSize = roundUp(ceilDiv(cout, groups), GemmKernel.MR);
                int bandFrom = r0;
                parallel.forEach(strips * groups, task -> {
                    long f0 = (long) (task / groups) * strip;
                    int len = (int) Math.min(strip, flat - f0);
                    int i0 = (task % groups) * groupSize, i1 = Math.min(cout, i0 + groupSize);
                    if (i0 >= i1) {
                        return;
                    }
                    int ldc = roundUp(len, GemmKernel.NR);
                    MemorySegment c;
                    if (packed) {
                        c = planarStrip(w.panels(), cin * kk, i0, i1, pl, f0, p.bRow, ldc);
                    } else {
                        c = Scratch.floats((long) (i1 - i0) * ldc);
                        GemmKernel.multiply(w.weight().data(), (long) i0 * cin * kk, (long) cin * kk, 0, i1 - i0,
                                cin * kk, pl, f0, p.bRow, 0, ldc, true, c, 0, ldc);
                    }
                    // Keep the columns that are real output pixels, adding bias and residual on the way.
                    for (long f = f0; f < f0 + len; ) {
                        int oy = bandFrom + (int) (f / p.wq), ox = (int) (f % p.wq);
                        long rowEnd = (f / p.wq + 1) * p.wq;
                        int count = (int) Math.min(Math.min(outW - ox, f0 + len - f), rowEnd - f);
                        if (count > 0) {
                            for (int i = i0; i < i1; i++) {
                                long dst = outOff + ((long) i * outH + oy) * outW + ox;
                                addBiasResidual(c, (long) (i - i0) * ldc + (f - f0), out.data(), dst, w.bias()[i],
                                        residual, dst, count);
                            }
                        }
                        f = rowEnd;
                    }
                });
                ScratchSpace.checkpoint();
            }
        }
    }

    /**
     * C = A·B for output rows [i0, i1) (a multiple of 8) and flat columns [f0, f0 + ldc) of a {@link #planar}
     * convolution, on the packed micro-kernel; returns the scratch segment whose first (i1 - i0)·ldc floats hold C
     * ([i1 - i0][ldc]). Each NR-column block's B rows, one per (input channel, tap) found through the offset table,
     * are copied into a contiguous [K][NR] panel first, in chunks of K small enough to stay in L2 (partial products
     * of later chunks added on). Read through the table, each k step's B row lay in another plane row, a pattern
     * no prefetcher follows, and the offset-table kernel ran these convolutions (the stride-2 ones above all) at
     * about a third of the FMA ceiling on Zen 3.
     */
    private static MemorySegment planarStrip(Tensor panels, int kCount, int i0, int i1, MemorySegment pl, long f0,
                                             long[] bRow, int ldc) {
        int nr = GemmKernel.NR, blocks = ldc / nr;
        long cFloats = (long) (i1 - i0) * ldc;
        int kc = (int) Math.min(kCount, Math.max(1, TILE_B_BYTES / (4L * nr * blocks)));
        long bFloats = (long) kc * nr * blocks, tmp = cFloats + bFloats;
        MemorySegment s = Scratch.floats(tmp + 8L * nr);
        for (int k0 = 0; k0 < kCount; k0 += kc) {
            int kn = Math.min(kc, kCount - k0);
            for (int q = 0; q < blocks; q++) {
                long from = f0 + (long) q * nr, to = cFloats + (long) q * kn * nr;
                for (int k = 0; k < kn; k++) {
                    long src = (from + bRow[k0 + k]) * 4, dst = (to + (long) k * nr) * 4;
                    for (int v = 0; v < nr; v += L) {
                        FloatVector.fromMemorySegment(S, pl, src + 4L * v, LE).intoMemorySegment(s, dst + 4L * v, LE);
                    }
                }
            }
            for (int i = i0; i < i1; i += 8) {
                long a = GemmKernel.panelIndex(i, k0, kCount);
                for (int q = 0; q < blocks; q++) {
                    long b = cFloats + (long) q * kn * nr, cPos = (long) (i - i0) * ldc + (long) q * nr;
                    if (k0 == 0) {
                        GemmKernel.multiplyPacked(panels.data(), a, 8, kn, s, b, s, cPos, ldc);
                        continue;
                    }
                    GemmKernel.multiplyPacked(panels.data(), a, 8, kn, s, b, s, tmp, nr);
                    for (int r = 0; r < 8; r++) {
                        for (int v = 0; v < nr; v += L) {
                            long at = (cPos + (long) r * ldc + v) * 4;
                            FloatVector.fromMemorySegment(S, s, at, LE)
                                    .add(FloatVector.fromMemorySegment(S, s, (tmp + (long) r * nr + v) * 4, LE))
                                    .intoMemorySegment(s, at, LE);
                        }
                    }
                }
            }
        }
        return s;
    }

    /** Columns per task of {@link #planarStrip}: whole NR blocks whose packed B (K rows each) fits the L2 budget. */
    private static int packedStripLength(int kCount, long columns) {
        long perBlock = 4L * kCount * GemmKernel.NR;
        long blocks = Math.max(1, Math.min(64, TILE_B_BYTES / perBlock));
        return (int) Math.min(blocks * GemmKernel.NR, roundUp((int) Math.min(columns, Integer.MAX_VALUE / 2),
                GemmKernel.NR));
    }

    /** Bytes of phase planes one band of a convolution may hold; bounds the memory a convolution adds. */
    static volatile long bandBytes = 32L << 20;

    /** Output rows per band: as many as fit {@link #bandBytes} of planes, at least one. */
    static int bandRows(long planesPerRow, long rowFloats, int outRows) {
        return (int) Math.max(1, Math.min(outRows, bandBytes / (planesPerRow * rowFloats * 4)));
    }

    /** A plane buffer; shaped [n, 64] only so that the count may exceed an int. Contents undefined. */
    static Tensor bandBuffer(long floats) {
        return Tensor.workspace(Math.toIntExact(ceilDiv(floats, 64)), 64);
    }

    /** dst[0..n) = src[0..n) + bias (+ residual[0..n)); offsets in floats. */
    private static void addBiasResidual(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, float bias,
                                        Tensor residual, long resOff, int n) {
        FloatVector b = FloatVector.broadcast(S, bias);
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, src, (srcOff + j) * 4, LE).add(b);
            if (residual != null) {
                v = v.add(FloatVector.fromMemorySegment(S, residual.data(), (resOff + j) * 4, LE));
            }
            v.intoMemorySegment(dst, (dstOff + j) * 4, LE);
        }
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector v = FloatVector.fromMemorySegment(S, src, (srcOff + j) * 4, LE, m).add(b);
            if (residual != null) {
                v = v.add(FloatVector.fromMemorySegment(S, residual.data(), (resOff + j) * 4, LE, m));
            }
            v.intoMemorySegment(dst, (dstOff + j) * 4, LE, m);
        }
    }

    /** Output columns per tile: enough to amortise the weights, few enough that the B rows stay in L2. */
    private static int stripLength(int cin, int kernel, long columns) {
        long perColumn = (long) cin * kernel * 4;
        long chunks = Math.max(1, Math.min(64, TILE_B_BYTES / (perColumn * GemmKernel.NR)));
        return (int) Math.min(chunks * GemmKernel.NR, roundUp((int) Math.min(columns, Integer.MAX_VALUE / 2),
                GemmKernel.NR));
    }

    /** Split output channels too when there are too few column tiles to keep every thread busy. */
    private int channelGroups(int cout, int strips) {
        int wanted = 4 * parallel.threads();
        if (strips >= wanted) {
            return 1;
        }
        return Math.max(1, Math.min(ceilDiv(wanted, strips), cout / GemmKernel.MR));
    }

    static long[] rows(int count, long stride) {
        long[] r = new long[count];
        for (int i = 0; i < count; i++) {
            r[i] = i * stride;
        }
        return r;
    }

    @Override
    public Tensor groupNorm(Tensor in, GroupNormSpec norm) {
        Checks.groupNorm(in, norm.gamma(), norm.beta(), norm.groups());
        boolean silu = norm.silu();
        int c = in.dim(1);
        long plane = (long) in.dim(2) * in.dim(3);
        Tensor out = Tensor.uninitialized(in.shape());
        float[][] affine = affine(in, norm);
        parallel.forEach(in.dim(0) * c, task -> {
            long off = task * plane;
            FloatVector a = FloatVector.broadcast(S, affine[0][task]), sh = FloatVector.broadcast(S, affine[1][task]);
            for (long j = 0; j < plane; j += L) {
                // Masked only at the end of the plane (a mask on every step measured twice the time).
                if (j + L <= plane) {
                    FloatVector v = FloatVector.fromMemorySegment(S, in.data(), (off + j) * 4, LE).fma(a, sh);
                    if (silu) {
                        v = VectorMath.silu(v);
                    }
                    v.intoMemorySegment(out.data(), (off + j) * 4, LE);
                    continue;
                }
                VectorMask<Float> m = S.indexInRange(j, plane);
                FloatVector v = FloatVector.fromMemorySegment(S, in.data(), (off + j) * 4, LE, m).fma(a, sh);
                if (silu) {
                    v = VectorMath.silu(v);
                }
                v.intoMemorySegment(out.data(), (off + j) * 4, LE, m);
            }
            ScratchSpace.checkpoint();
        });
        return out;
    }

    /**
     * Per (image, channel) scale and shift that apply a GroupNorm and its affine: y = x·scale + shift. Statistics
     * from {@link #meanVariance}, or the spec's frozen per-group mean and rstd when it has them.
     */
    private float[][] affine(Tensor in, GroupNormSpec norm) {
        int groups = norm.groups();
        float eps = norm.eps();
        int n = in.dim(0), c = in.dim(1), cpg = c / groups;
        long plane = (long) in.dim(2) * in.dim(3);
        float[] scale = new float[n * c], shift = new float[n * c];
        parallel.forEach(n * groups, task -> {
            int b = task / groups, grp = task % groups;
            long off = ((long) b * c + (long) grp * cpg) * plane;
            long count = cpg * plane;
            double mean, rstd;
            if (norm.frozen()) {
                mean = norm.mean()[grp];
                rstd = norm.rstd()[grp];
            } else {
                double[] stats = meanVariance(in.data(), off, count);
                mean = stats[0];
                rstd = 1.0 / Math.sqrt(stats[1] + eps);
            }
            ScratchSpace.checkpoint();
            groupAffine(norm, c, b, grp, mean, rstd, scale, shift);
        });
        return new float[][]{scale, shift};
    }

    /**
     * Scale and shift of group grp's channels in image img (c channels a image), such that y = x·scale + shift is
     * the GroupNorm with that mean and rstd followed by its affine; for every layout's kernel.
     */
    static void groupAffine(GroupNormSpec norm, int c, int img, int grp, double mean, double rstd, float[] scale,
                            float[] shift) {
        int cpg = c / norm.groups();
        for (int ch = grp * cpg; ch < (grp + 1) * cpg; ch++) {
            double a = norm.gamma().get(ch) * rstd;
            scale[img * c + ch] = (float) a;
            shift[img * c + ch] = (float) (norm.beta().get(ch) - mean * a);
        }
    }

    /**
     * Chan, Golub and LeVeque's pairwise update of running moments at index i (count, mean, sum of squared
     * deviations m2) by a chunk of nb values whose deviations from {@code shift} sum to t1, their squares to t2.
     */
    static void mergeMoments(double[] count, double[] mean, double[] m2, int i, double shift, double t1, double t2,
                             double nb) {
        double chunkMean = shift + t1 / nb, chunkM2 = Math.max(0, t2 - t1 * t1 / nb);
        double delta = chunkMean - mean[i], total = count[i] + nb;
        mean[i] += delta * nb / total;
        m2[i] += chunkM2 + delta * delta * count[i] * nb / total;
        count[i] = total;
    }

    /**
     * {mean, variance} of a range in one pass: per block of 4096 values, the sums of d = x - s and d² in float
     * lanes, where s is the mean of the block's first L values (near the block's mean, so d² does not cancel
     * against the squared sum), and the blocks combined in double (Chan, Golub and LeVeque's pairwise update).
     * Two passes (mean, then squared deviations) read every GroupNorm input twice: 1.6% of a decode's time.
     */
    static double[] meanVariance(MemorySegment seg, long off, long count) {
        double[] n = {0}, mean = {0}, m2 = {0};
        for (long j0 = 0; j0 < count; j0 += 4096) {
            long j1 = Math.min(count, j0 + 4096);
            VectorMask<Float> head = S.indexInRange(j0, j1);
            float shift = sumLanes(FloatVector.fromMemorySegment(S, seg, (off + j0) * 4, LE, head))
                    / Math.min(L, j1 - j0);
            FloatVector sh = FloatVector.broadcast(S, shift), s1 = FloatVector.zero(S), s2 = s1;
            long j = j0;
            // Whole vectors unmasked: a mask and blend on every step cost as much as the sums themselves.
            for (; j + L <= j1; j += L) {
                FloatVector d = FloatVector.fromMemorySegment(S, seg, (off + j) * 4, LE).sub(sh);
                s1 = s1.add(d);
                s2 = d.fma(d, s2);
            }
            if (j < j1) {
                VectorMask<Float> m = S.indexInRange(j, j1);
                FloatVector d = FloatVector.zero(S).blend(
                        FloatVector.fromMemorySegment(S, seg, (off + j) * 4, LE, m).sub(sh), m);
                s1 = s1.add(d);
                s2 = d.fma(d, s2);
            }
            mergeMoments(n, mean, m2, 0, shift, sumLanes(s1), sumLanes(s2), j1 - j0);
        }
        return new double[]{mean[0], n[0] == 0 ? 0 : m2[0] / n[0]};
    }

    /**
     * The lanes' sum, first to last. Not {@code reduceLanes(ADD)}: its order is left to the implementation, and C2's
     * intrinsic and the interpreter's loop round differently, so a decode's bits depended on when the JIT got there.
     */
    static float sumLanes(FloatVector v) {
        float sum = 0;
        for (int i = 0; i < L; i++) {
            sum += v.lane(i);
        }
        return sum;
    }

    @Override
    public Tensor upsampleNearest2x(Tensor in) {
        Checks.activation(in, "upsample");
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        Tensor out = Tensor.uninitialized(n, c, 2 * h, 2 * w);
        parallel.forEach(n * c, plane -> {
            long src = (long) plane * h * w * 4, dst = (long) plane * 4 * h * w * 4;
            for (int y = 0; y < h; y++) {
                long row = dst + (long) (2 * y) * 2 * w * 4;
                for (int x = 0; x < w; x++) {
                    float v = in.data().get(DType.FLOAT, src + ((long) y * w + x) * 4);
                    out.data().set(DType.FLOAT, row + 8L * x, v);
                    out.data().set(DType.FLOAT, row + 8L * x + 4, v);
                }
                MemorySegment.copy(out.data(), row, out.data(), row + 2L * w * 4, 2L * w * 4);
            }
        });
        return out;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v) {
        Checks.activation(q, "attention q");
        Checks.sameShape(q, k, "attention k");
        Checks.sameShape(q, v, "attention v");
        return new VectorAttention(parallel).compute(q, k, v);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        Checks.sameShape(a, b, "add");
        Tensor out = Tensor.uninitialized(a.shape());
        long n = a.numel();
        int blocks = (int) ceilDiv(n, 1 << 16);
        parallel.forEach(blocks, blk -> {
            long j0 = (long) blk << 16, j1 = Math.min(n, j0 + (1 << 16)), j = j0;
            for (; j + L <= j1; j += L) {
                FloatVector x = FloatVector.fromMemorySegment(S, a.data(), j * 4, LE);
                FloatVector y = FloatVector.fromMemorySegment(S, b.data(), j * 4, LE);
                x.add(y).intoMemorySegment(out.data(), j * 4, LE);
            }
            if (j < j1) {
                VectorMask<Float> m = S.indexInRange(j, j1);
                FloatVector x = FloatVector.fromMemorySegment(S, a.data(), j * 4, LE, m);
                FloatVector y = FloatVector.fromMemorySegment(S, b.data(), j * 4, LE, m);
                x.add(y).intoMemorySegment(out.data(), j * 4, LE, m);
            }
        });
        return out;
    }

    @Override
    public Tensor map(Tensor in, Activation activation) {
        Tensor out = Tensor.uninitialized(in.shape());
        long n = in.numel();
        int blocks = (int) ceilDiv(n, 1 << 16);
        FloatVector three = FloatVector.broadcast(S, 3f);
        parallel.forEach(blocks, blk -> {
            long j0 = (long) blk << 16, j1 = Math.min(n, j0 + (1 << 16));
            long j = j0;
            // Whole vectors unmasked, the mask only for the ragged end (as in add and the GroupNorm).
            for (; j + L <= j1; j += L) {
                FloatVector x = FloatVector.fromMemorySegment(S, in.data(), j * 4, LE);
                FloatVector y = switch (activation) {
                    case RELU -> x.max(0f);
                    case SILU -> VectorMath.silu(x);
                    case TANH_CLAMP3 -> VectorMath.tanh(x.div(3f)).mul(three);
                };
                y.intoMemorySegment(out.data(), j * 4, LE);
            }
            if (j < j1) {
                VectorMask<Float> m = S.indexInRange(j, j1);
                FloatVector x = FloatVector.fromMemorySegment(S, in.data(), j * 4, LE, m);
                FloatVector y = switch (activation) {
                    case RELU -> x.max(0f);
                    case SILU -> VectorMath.silu(x);
                    case TANH_CLAMP3 -> VectorMath.tanh(x.div(3f)).mul(three);
                };
                y.intoMemorySegment(out.data(), j * 4, LE, m);
            }
        });
        return out;
    }

    public Parallel parallel() {
        return parallel;
    }

    @Override
    public void close() {
        parallel.close();
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }
}
