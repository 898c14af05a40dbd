package io.vae4j.backend.vector;

import io.vae4j.backend.GroupNormSpec;
import io.vae4j.backend.Parallel;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Layout;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Kernels on channel-blocked activations ({@link Layout#NCHW8C}, {@link Layout#NCHW16C}: the B channels of a pixel
 * side by side), for a backend that keeps oneDNN's blocked layout between its convolutions. When the block is the
 * machine's float vector ({@link #nativeLayout()}) a pixel is one vector, so a per-channel scale and shift is one
 * vector a block; other blocks take the scalar twin of each kernel (tests compare the two).
 */
public final class BlockedKernels {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * Pixels a lane sums in float before its sums are merged in double: 256, as many values as each lane of the
     * NCHW kernel sums (4096 over 16 lanes). 4096 a lane measured 5-8x the encoder's error on the conformance
     * fixtures.
     */
    private static final int CHUNK = 256;

    private BlockedKernels() {
    }

    /** The blocked layout whose block is this machine's float vector, or null when there is none (128-bit). */
    public static Layout nativeLayout() {
        return Layout.blocked(L);
    }

    /** A new tensor with in's values (NCHW) in {@code to}; in's channels are a multiple of the block. */
    public static Tensor fromNchw(Parallel parallel, Tensor in, Layout to) {
        Tensor out = Tensor.uninitialized(to, in.shape());
        copy(parallel, in.data(), out.data(), in.shape(), to.block(), true);
        return out;
    }

    /** A new NCHW tensor with the values of the blocked {@code in}. */
    public static Tensor toNchw(Parallel parallel, Tensor in) {
        Tensor out = Tensor.uninitialized(in.shape());
        copy(parallel, in.data(), out.data(), in.shape(), in.layout().block(), false);
        return out;
    }

    /**
     * Copies an [N, C, H, W] tensor between NCHW and the layout of block b, one block of channels a task: channel c
     * of the block at NCHW float c·plane + p, blocked float p·b + c (from the block's first float).
     */
    private static void copy(Parallel parallel, MemorySegment src, MemorySegment dst, int[] s, int b,
                             boolean toBlocked) {
        long plane = (long) s[2] * s[3];
        parallel.forEach(s[0] * (s[1] / b), blk -> {
            long first = (long) blk * b * plane;
            for (int c = 0; c < b; c++) {
                for (long p = 0; p < plane; p++) {
                    long nchw = (first + c * plane + p) * 4, blocked = (first + p * b + c) * 4;
                    if (toBlocked) {
                        dst.set(DType.FLOAT, blocked, src.get(DType.FLOAT, nchw));
                    } else {
                        dst.set(DType.FLOAT, nchw, src.get(DType.FLOAT, blocked));
                    }
                }
            }
        });
    }

    /** GroupNorm (and SiLU) of a blocked tensor, as {@link VectorBackend#groupNorm}; the result in its layout. */
    public static Tensor groupNorm(Parallel parallel, Tensor in, GroupNormSpec norm) {
        int[] s = in.shape();
        int b = in.layout().block(), blocks = s[0] * (s[1] / b);
        long plane = (long) s[2] * s[3];
        float[][] affine = affine(parallel, in, norm);
        Tensor out = Tensor.uninitialized(in.layout(), s);
        boolean silu = norm.silu();
        parallel.forEach(blocks, blk -> {
            long first = (long) blk * b * plane;
            if (b == L) {
                FloatVector a = FloatVector.fromArray(S, affine[0], blk * b);
                FloatVector sh = FloatVector.fromArray(S, affine[1], blk * b);
                for (long p = 0; p < plane; p++) {
                    long at = (first + p * b) * 4;
                    FloatVector v = FloatVector.fromMemorySegment(S, in.data(), at, LE).fma(a, sh);
                    if (silu) {
                        v = VectorMath.silu(v);
                    }
                    v.intoMemorySegment(out.data(), at, LE);
                }
            } else {
                for (long p = 0; p < plane; p++) {
                    for (int c = 0; c < b; c++) {
                        long at = (first + p * b + c) * 4;
                        float v = in.data().get(DType.FLOAT, at) * affine[0][blk * b + c] + affine[1][blk * b + c];
                        out.data().set(DType.FLOAT, at, silu ? (float) (v / (1 + Math.exp(-v))) : v);
                    }
                }
            }
            ScratchSpace.checkpoint();
        });
        return out;
    }

    /**
     * Per (image, channel) scale and shift, y = x·scale + shift, as in the NCHW kernel: each channel's mean and
     * squared deviations from its lane's float sums (shifted by the chunk's first value), merged in double, then
     * its group's from its channels' (equal counts: the mean of means, plus the spread of the means).
     */
    private static float[][] affine(Parallel parallel, Tensor in, GroupNormSpec norm) {
        int[] s = in.shape();
        int n = s[0], c = s[1], b = in.layout().block(), groups = norm.groups(), cpg = c / groups;
        long plane = (long) s[2] * s[3];
        double[] mean = new double[n * c], m2 = new double[n * c];
        if (!norm.frozen()) {
            parallel.forEach(n * (c / b), blk -> channelMoments(in.data(), (long) blk * b * plane, plane, b,
                    mean, m2, blk * b));
        }
        float[] scale = new float[n * c], shift = new float[n * c];
        for (int img = 0; img < n; img++) {
            for (int g = 0; g < groups; g++) {
                int c0 = img * c + g * cpg;
                double mu, rstd;
                if (norm.frozen()) {
                    mu = norm.mean()[g];
                    rstd = norm.rstd()[g];
                } else {
                    mu = 0;
                    for (int ch = c0; ch < c0 + cpg; ch++) {
                        mu += mean[ch];
                    }
                    mu /= cpg;
                    double sq = 0;
                    for (int ch = c0; ch < c0 + cpg; ch++) {
                        double d = mean[ch] - mu;
                        sq += m2[ch] + d * d * plane;
                    }
                    rstd = 1.0 / Math.sqrt(sq / ((double) cpg * plane) + norm.eps());
                }
                VectorBackend.groupAffine(norm, c, img, g, mu, rstd, scale, shift);
            }
        }
        return new float[][]{scale, shift};
    }

    /** Mean and sum of squared deviations of each of the b channels of one block (floats from {@code first}). */
    private static void channelMoments(MemorySegment seg, long first, long plane, int b, double[] mean, double[] m2,
                                       int at) {
        double[] n = new double[b], runningMean = new double[b], runningM2 = new double[b];
        float[] t1 = new float[b], t2 = new float[b], sh = new float[b];
        for (long p0 = 0; p0 < plane; p0 += CHUNK) {
            long p1 = Math.min(plane, p0 + CHUNK);
            if (b == L) {
                FloatVector shift = FloatVector.fromMemorySegment(S, seg, (first + p0 * b) * 4, LE);
                FloatVector s1 = FloatVector.zero(S), s2 = s1;
                for (long p = p0; p < p1; p++) {
                    FloatVector d = FloatVector.fromMemorySegment(S, seg, (first + p * b) * 4, LE).sub(shift);
                    s1 = s1.add(d);
                    s2 = d.fma(d, s2);
                }
                shift.intoArray(sh, 0);
                s1.intoArray(t1, 0);
                s2.intoArray(t2, 0);
            } else {
                for (int c = 0; c < b; c++) {
                    sh[c] = seg.get(DType.FLOAT, (first + p0 * b + c) * 4);
                }
                Arrays.fill(t1, 0);
                Arrays.fill(t2, 0);
                for (long p = p0; p < p1; p++) {
                    for (int c = 0; c < b; c++) {
                        float d = seg.get(DType.FLOAT, (first + p * b + c) * 4) - sh[c];
                        t1[c] += d;
                        t2[c] += d * d;
                    }
                }
            }
            for (int c = 0; c < b; c++) {
                VectorBackend.mergeMoments(n, runningMean, runningM2, c, sh[c], t1[c], t2[c], p1 - p0);
            }
        }
        System.arraycopy(runningMean, 0, mean, at, b);
        System.arraycopy(runningM2, 0, m2, at, b);
    }

    /** Nearest-neighbour 2x upsampling of a blocked tensor, in its layout. */
    public static Tensor upsampleNearest2x(Parallel parallel, Tensor in) {
        int[] s = in.shape();
        int b = in.layout().block(), h = s[2], w = s[3], blocks = s[0] * (s[1] / b);
        Tensor out = Tensor.uninitialized(in.layout(), s[0], s[1], 2 * h, 2 * w);
        long px = 4L * b;
        parallel.forEach(blocks, blk -> {
            long src = (long) blk * h * w * px, dst = (long) blk * 4 * h * w * px;
            for (int y = 0; y < h; y++) {
                long row = dst + (long) (2 * y) * 2 * w * px;
                for (int x = 0; x < w; x++) {
                    MemorySegment.copy(in.data(), src + ((long) y * w + x) * px, out.data(), row + 2 * x * px, px);
                    MemorySegment.copy(in.data(), src + ((long) y * w + x) * px, out.data(), row + (2 * x + 1) * px,
                            px);
                }
                MemorySegment.copy(out.data(), row, out.data(), row + 2L * w * px, 2L * w * px);
            }
        });
        return out;
    }

    /**
     * Interleaves the four output phases of an upsampling convolution: {@code phases} holds, in out's blocked
     * layout, [N, 4·C, H + 1, W + 1] whose channels [k·C, (k + 1)·C) are phase k = 2·py + px, shifted by (py, px);
     * out [N, C, 2H, 2W] gets (2y + py, 2x + px) = phase k at (y + py, x + px).
     */
    public static void interleavePhases(Parallel parallel, MemorySegment phases, Tensor out) {
        int[] s = out.shape();
        int b = out.layout().block(), cb = s[1] / b, h = s[2] / 2, w = s[3] / 2;
        long px = 4L * b, pplane = (long) (h + 1) * (w + 1);
        parallel.forEach(s[0] * cb * 2, task -> {
            int py = task % 2, blk = task / 2, img = blk / cb, c = blk % cb;
            long dst = (long) blk * s[2] * s[3] * px;
            for (int pxs = 0; pxs < 2; pxs++) {
                long src = ((long) img * 4 * cb + (2L * py + pxs) * cb + c) * pplane * px;
                for (int y = 0; y < h; y++) {
                    long from = src + ((long) (y + py) * (w + 1) + pxs) * px;
                    long to = dst + ((long) (2 * y + py) * s[3] + pxs) * px;
                    for (int x = 0; x < w; x++) {
                        MemorySegment.copy(phases, from + x * px, out.data(), to + 2 * x * px, px);
                    }
                }
            }
        });
    }
}
