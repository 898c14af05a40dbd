package io.vae4j.backend.onednn;

import io.vae4j.backend.ConvParams;
import io.vae4j.backend.ConvWeightsF32;
import io.vae4j.backend.PreparedConv;
import io.vae4j.backend.onednn.ffm.dnnl_memory_desc_t;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import static io.vae4j.backend.onednn.ffm.dnnl_h.*;

/**
 * A convolution prepared for oneDNN: the float32 weights as loaded (memory-mapped where the file is float32),
 * and, filled at first use, one primitive per input shape and kind of call ({@link ConvPlan}) and the weights
 * reordered into each layout those primitives asked for (usually one per kind, shared by every shape). Safe to
 * use from several threads; {@link #close()} frees everything it made.
 */
final class OneDnnConv implements PreparedConv {
    private final OneDnnBackend backend;
    private final ConvWeightsF32 f32;
    private final Arena arena = Arena.ofShared();
    private final ConcurrentHashMap<ConvPlan.Key, ConvPlan> plans = new ConcurrentHashMap<>();
    private final List<Packed> packed = new ArrayList<>();
    private final Source[] sources = new Source[ConvPlan.Kind.values().length];
    private PreparedConv vectorConv;
    private boolean closed;

    /** Weights in one layout: a private copy of the descriptor and the reordered data. */
    private record Packed(ConvPlan.Kind kind, MemorySegment md, MemorySegment data) {
    }

    /** The dims of the [out][in][kh][kw] weights and the bias one kind of plan computes with. */
    record Source(long[] dims, MemorySegment bias) {
    }

    OneDnnConv(OneDnnBackend backend, ConvParams params) {
        this.backend = backend;
        this.f32 = new ConvWeightsF32(params);
    }

    @Override
    public ConvParams params() {
        return f32.params();
    }

    OneDnnBackend backend() {
        return backend;
    }

    ConvPlan plan(ConvPlan.Key key) {
        ConvPlan p = plans.get(key);
        return p != null ? p : plans.computeIfAbsent(key, k -> new ConvPlan(this, k));
    }

    /** The same convolution prepared for the Vector API backend, for the calls the backend routes there. */
    synchronized PreparedConv vectorConv() {
        checkOpen();
        if (vectorConv == null) {
            vectorConv = backend.vector().prepareConv(params());
        }
        return vectorConv;
    }

    int planCount() {
        return plans.size();
    }

    /**
     * The weights in the layout {@code md} (a primitive's weights descriptor), reordered once from
     * {@link #plainWeights} and kept for the life of this convolution.
     */
    synchronized MemorySegment weights(MemorySegment md, ConvPlan.Kind kind, ExecContext ctx) {
        checkOpen();
        for (Packed p : packed) {
            if (p.kind == kind && Dnnl.equal(p.md, md)) {
                return p.data;
            }
        }
        MemorySegment mdCopy = dnnl_memory_desc_t.allocate(arena).copyFrom(md);
        MemorySegment data = arena.allocate(Math.max(64, Dnnl.size(md)), 64);
        try (Arena a = Arena.ofConfined()) {
            long[] dims = source(kind).dims();
            MemorySegment plain = plainWeights(kind, a);
            MemorySegment plainMd = Dnnl.md(a, dnnl_oihw(), dims);
            String what = params().name() + " weights";
            if (Dnnl.equal(plainMd, md)) {
                MemorySegment.copy(plain, 0, data, 0, Dnnl.size(md));
            } else {
                try (ConvPlan.Reorder r = new ConvPlan.Reorder(plainMd, mdCopy, backend.engine(), what)) {
                    r.run(ctx, a, plain, data);
                }
            }
        }
        packed.add(new Packed(kind, mdCopy, data));
        return data;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(params().name() + ": convolution closed");
        }
    }

    /** The weights' dims for a kind of plan, and its bias (made once, kept). */
    synchronized Source source(ConvPlan.Kind kind) {
        checkOpen();
        Source s = sources[kind.ordinal()];
        if (s == null) {
            long co = params().outChannels(), ci = params().inChannels(), k = params().geometry().kernel();
            float[] b = f32.bias();
            s = switch (kind) {
                case CONV -> new Source(new long[]{co, ci, k, k}, floats(b, 1));
                case DECONV -> new Source(new long[]{co, ci, 4, 4}, floats(b, 1));
                case PHASES -> new Source(new long[]{4 * co, ci, 2, 2}, floats(b, 4));
            };
            sources[kind.ordinal()] = s;
        }
        return s;
    }

    /**
     * The plain [out][in][kh][kw] float32 weights for a kind of plan: the loaded ones for CONV; for the upsampling
     * kinds, derived into {@code scratch} (they are only read to be reordered). A nearest 2x upsample followed by
     * a 3x3 stride-1 pad-1 convolution reads, along each axis, for output 2y the input rows y-1 (tap w0) and y
     * (w1 + w2), and for output 2y+1 the rows y (w0 + w1) and y+1 (w2). So:
     * <ul>
     * <li>DECONV: a transposed convolution of the input with stride 2, padding 1 and the 4 taps
     * {w2, w1+w2, w0+w1, w0} along each axis (oneDNN's out = 2·in + tap - 1), 16 instead of 36 multiply-adds per
     * input pixel and channel pair;</li>
     * <li>PHASES: a 2x2 pad-1 convolution of the input with 4·out channels, block (py, px) holding that output
     * phase's taps ({w0 | w1+w2} for py = 0, {w0+w1 | w2} for py = 1), the same 16 multiply-adds, at the
     * speed of an ordinary stride-1 convolution.</li>
     * </ul>
     */
    private MemorySegment plainWeights(ConvPlan.Kind kind, Arena scratch) {
        MemorySegment w = f32.weight().data();
        long pairs = (long) params().outChannels() * params().inChannels();
        return switch (kind) {
            case CONV -> w;
            case DECONV -> {
                int[][] taps = {{2}, {1, 2}, {0, 1}, {0}};
                MemorySegment out = scratch.allocate(16L * 4 * pairs, 64);
                for (long pair = 0; pair < pairs; pair++) {
                    for (int y = 0; y < 4; y++) {
                        for (int x = 0; x < 4; x++) {
                            out.setAtIndex(C_FLOAT, pair * 16 + y * 4 + x, tapSum(w, pair, taps[y], taps[x]));
                        }
                    }
                }
                yield out;
            }
            case PHASES -> {
                // taps[phase][kernel row]: which 3x3 rows each row of a phase's 2x2 kernel sums.
                int[][][] taps = {{{0}, {1, 2}}, {{0, 1}, {2}}};
                MemorySegment out = scratch.allocate(4L * 4 * 4 * pairs, 64);
                for (int py = 0; py < 2; py++) {
                    for (int px = 0; px < 2; px++) {
                        long block = (2L * py + px) * pairs;
                        for (long pair = 0; pair < pairs; pair++) {
                            for (int y = 0; y < 2; y++) {
                                for (int x = 0; x < 2; x++) {
                                    out.setAtIndex(C_FLOAT, (block + pair) * 4 + y * 2 + x,
                                            tapSum(w, pair, taps[py][y], taps[px][x]));
                                }
                            }
                        }
                    }
                }
                yield out;
            }
        };
    }

    private static float tapSum(MemorySegment w, long pair, int[] rows, int[] cols) {
        double sum = 0;
        for (int ky : rows) {
            for (int kx : cols) {
                sum += w.getAtIndex(C_FLOAT, pair * 9 + ky * 3 + kx);
            }
        }
        return (float) sum;
    }

    /** {@code copies} copies of {@code values}, end to end, in native memory. */
    private MemorySegment floats(float[] values, int copies) {
        MemorySegment out = arena.allocate(4L * Math.max(1, values.length * copies), 64);
        for (int c = 0; c < copies; c++) {
            MemorySegment.copy(values, 0, out, C_FLOAT, 4L * c * values.length, values.length);
        }
        return out;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (ConvPlan p : plans.values()) {
            p.close();
        }
        plans.clear();
        packed.clear();
        arena.close();
        f32.close();
        if (vectorConv != null) {
            vectorConv.close();
        }
    }
}
