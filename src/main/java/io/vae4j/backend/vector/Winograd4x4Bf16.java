package io.vae4j.backend.vector;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.Parallel;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@link Winograd4x4} with its 36 products in bfloat16: the transforms stay float32 Java, the products go to a
 * {@link WinogradProducts} with a bf16 dot product (oneDNN's matmul on AVX512_BF16), which runs them at about twice
 * our float32 GEMM's rate (MatmulProbe). Per band of tile rows: fill the phase planes and transform the input, one
 * channel per task, into V[36][cin][T] rounded to bf16; one batched product M[36][cout][T] = U[36][cout][cin]·V;
 * the output transform, one block of output channels per task. T, the tiles per band, is the same for every band
 * of a convolution (the last band's surplus columns are computed and dropped), so the product is one primitive
 * per convolution shape.
 */
final class Winograd4x4Bf16 {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final VectorSpecies<Short> HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * Tiles per band, at least (a whole number of tile rows, rounded up to L): big enough that the product's
     * per-call costs and weight reads amortise, small enough that V and M stay in cache. MatmulProbe: 192-384
     * tiles run at 150-200 GFLOP/s; whole convolutions (ConvProbe, 1 thread, CPU time) were best or as good at 512
     * among 128-1024. -Dvae4j.bf16.bandTiles for measuring.
     */
    static final int BAND_TILES = Integer.getInteger("vae4j.bf16.bandTiles", 512);
    /**
     * The fewest input channels for which the backends use the bf16 products (0: always). Per convolution
     * (ConvProbe, 1 thread, CPU time, loaded machine, against float32 F(4x4)): 512 channels at 64x64 and 128x128
     * 1.8-1.9x faster, 256 at 256x256 1.5x, 128 at 512x512 only 1.05-1.1x (the transforms, which scale with the
     * channels where the products scale with their square, are most of the time there). Still, the SD decode
     * measured faster with every such convolution in bf16 (DecodeCpuProbe, 1 thread: 9.16 s CPU) than from 256
     * channels (9.64 s; float32 12.93 s). -Dvae4j.bf16.winogradMinChannels for measuring.
     */
    static final int MIN_CHANNELS = Integer.getInteger("vae4j.bf16.winogradMinChannels", 0);
    /** Output channels per output-transform task. */
    private static final int OUT_BLOCK = 16;

    /** Batches the 36 products are cut into (a divisor of 36): enough for two threads to share evenly. */
    private static final int PRODUCT_CHUNKS = 6;

    private Winograd4x4Bf16() {
    }

    /** U rounded to bf16 (round to nearest even): [36][out][in] shorts, stored as a float tensor of half the count. */
    static Tensor toBf16(Tensor u) {
        long count = u.numel();
        Tensor b = Tensor.uninitialized(Math.toIntExact((count + 1) / 2));
        MemorySegment src = u.data(), dst = b.data();
        long i = 0;
        for (; i + L <= count; i += L) {
            storeBf16(FloatVector.fromMemorySegment(S, src, i * 4, LE), dst, i * 2);
        }
        for (; i < count; i++) {
            dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2,
                    bf16(src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4)));
        }
        return b;
    }

    /** One float rounded to bf16 (nearest, ties to even), as {@link #storeBf16} does per lane. */
    static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** L floats rounded to bf16 and stored as L shorts at byte offset {@code at}. */
    static void storeBf16(FloatVector v, MemorySegment dst, long at) {
        IntVector bits = v.reinterpretAsInts();
        IntVector odd = bits.lanewise(VectorOperators.LSHR, 16).and(1);
        IntVector rounded = bits.add(odd).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
        ((ShortVector) rounded.castShape(HALF, 0)).intoMemorySegment(dst, at, LE);
    }

    /** out[n] = conv(in[n] (nearest-upsampled when upsample = 2)) + bias (+ residual[n]), ub: U in bf16. */
    static void convolve(Parallel parallel, WinogradProducts products, Tensor in, int n, Tensor ub, float[] bias,
                         Tensor residual, Tensor out, int upsample, ChannelNorm[] norm) {
        int cin = in.dim(1), cout = out.dim(1);
        int outH = out.dim(2), outW = out.dim(3);
        int tilesY = (outH + 3) / 4, tilesX = (outW + 3) / 4;
        ConvGeometry g = ConvPlanes.winogradTiles(4, outH, outW);
        long inOff = (long) n * cin * in.dim(2) * in.dim(3);
        long outOff = (long) n * cout * outH * outW;
        int wq = tilesX + 1;
        int bandRows = Math.max(1, Math.min(tilesY, VectorBackend.ceilDiv(BAND_TILES, wq)));
        int tiles = VectorBackend.roundUp(bandRows * wq, L);
        ConvPlanes first = new ConvPlanes(g, cin, in.dim(2), in.dim(3), upsample, 0, bandRows);
        long vStride = (long) cin * tiles, mStride = (long) cout * tiles;
        try (Tensor planes = VectorBackend.bandBuffer(first.floats + tiles);
             Tensor v = VectorBackend.bandBuffer((36L * vStride + 1) / 2);
             Tensor m = VectorBackend.bandBuffer(36L * mStride)) {
            MemorySegment pl = planes.data(), vb = v.data(), mb = m.data();
            // Columns past a band's last tile are never written; zero them once so that the product reads numbers.
            vb.fill((byte) 0);
            for (int ty0 = 0; ty0 < tilesY; ty0 += bandRows) {
                ConvPlanes p = ty0 == 0 ? first
                        : new ConvPlanes(g, cin, in.dim(2), in.dim(3), upsample, ty0, bandRows);
                long channelStride = p.planeOffset(0, 1);
                long flat = p.flatOut();
                long[] starts = WinogradBands.vectorStarts(p, tilesX);
                long[] tap = p.tileTaps();
                pl.asSlice(p.filled * 4).fill((byte) 0);
                parallel.forEach(cin, ci -> {
                    p.fill(in.data(), inOff, ci, pl, norm == null ? null : norm[ci]);
                    transformChannel(pl, ci * channelStride, tap, starts, vb, (long) ci * tiles, vStride);
                });
                // The 36 products in PRODUCT_CHUNKS batches, one oneDNN call each on the Java threads: OpenMP
                // teams between the Java-threaded transforms left one of the two cores idle or spinning.
                int per = 36 / PRODUCT_CHUNKS;
                parallel.forEach(PRODUCT_CHUNKS, c -> products.multiplyBf16(per, cout, cin, tiles,
                        ub.data().asSlice(2L * c * per * cout * cin), vb.asSlice(2L * c * per * vStride),
                        mb.asSlice(4L * c * per * mStride)));
                int bandFrom = ty0;
                int blocks = VectorBackend.ceilDiv(cout, OUT_BLOCK);
                parallel.forEach(blocks, blk -> {
                    int oc = blk * OUT_BLOCK, rows = Math.min(OUT_BLOCK, cout - oc);
                    MemorySegment t = Scratch.floats(36L * L);
                    Winograd4x4.transformOutput(mb, (long) oc * tiles, tiles, mStride * 4, starts, t, 0,
                            rows, oc, bias, flat, p.wq, bandFrom, tilesX, outH, outW, out.data(), outOff, residual,
                            false);
                });
            }
        }
    }

    /**
     * V[ξ][ci][t] for the band's vectors of L tiles ({@link WinogradBands#vectorStarts}) of one channel (its planes
     * from float {@code base}), rounded to bf16: V's element (ξ, ci, t) is the short at index vBase + ξ·step + t,
     * where tile t is lane t % L of vector t / L.
     */
    private static void transformChannel(MemorySegment pl, long base, long[] tap, long[] starts, MemorySegment v,
                                         long vBase, long step) {
        MemorySegment tmp = Scratch.floats(72L * L);
        long lb = 4L * L;
        for (int t = 0; t < starts.length * L; t += L) {
            Winograd4x4.inputColumns(pl, (base + starts[t / L]) * 4, tap, tmp, 0);
            Winograd4x4.inputRows(tmp, 0, 36 * lb, lb);
            toBf16Rows(tmp, 36 * lb, 36, v, (vBase + t) * 2, step * 2);
        }
    }

    /**
     * The {@code count} transformed vectors of L tiles (floats from byte offset {@code from} of tmp, one vector after the
     * other) rounded to bf16 into V rows {@code step} bytes apart from byte offset {@code row}. A pass of its own,
     * not fused into the row transform: fused, the method grew past what C2 inlines and the vectors were boxed.
     */
    static void toBf16Rows(MemorySegment tmp, long from, int count, MemorySegment v, long row, long step) {
        long lb = 4L * L;
        for (int x = 0; x < count; x++) {
            storeBf16(FloatVector.fromMemorySegment(S, tmp, from + x * lb, LE), v, row + x * step);
        }
    }
}
