package io.vae4j.bench;

import io.vae4j.backend.onednn.OneDnnProducts;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;

/**
 * The batched products of a bf16 Winograd F(4x4) convolution on oneDNN's matmul, alone: [36][C x C]·[C x N] for
 * square channel counts C and N tiles per band, bf16 and f32 sources, best of N runs in GFLOP/s of thread CPU
 * time (1 thread: all the work is on the calling thread, so other load on the machine barely moves it).
 * Usage: MatmulProbe [threads] [runs] [C,C,...] [N,N,...]. Run with -Dvae4j.onednn.verbose=true for the
 * implementations.
 */
public final class MatmulProbe {
    private static final ThreadMXBean THREAD = ManagementFactory.getThreadMXBean();

    private MatmulProbe() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int[] channels = ints(args.length > 2 ? args[2] : "512,256,128");
        int[] tiles = ints(args.length > 3 ? args[3] : "96,192,384,768");
        Random random = new Random(1);
        try (OneDnnProducts products = new OneDnnProducts(threads); Arena arena = Arena.ofConfined()) {
            for (int c : channels) {
                for (int n : tiles) {
                    StringBuilder line = new StringBuilder(String.format("C=%-4d N=%-4d", c, n));
                    for (boolean bf16 : new boolean[]{true, false}) {
                        long elem = bf16 ? 2 : 4;
                        MemorySegment u = fill(arena.allocate(36L * c * c * elem, 64), bf16, random);
                        MemorySegment v = fill(arena.allocate(36L * c * n * elem, 64), bf16, random);
                        MemorySegment m = arena.allocate(36L * c * n * 4, 64);
                        double best = Double.MAX_VALUE, bestCpu = Double.MAX_VALUE;
                        for (int r = 0; r < runs; r++) {
                            long t = System.nanoTime(), cpu = THREAD.getCurrentThreadCpuTime();
                            products.multiply(bf16, 36, c, c, n, u, v, m);
                            best = Math.min(best, (System.nanoTime() - t) / 1e9);
                            bestCpu = Math.min(bestCpu, (THREAD.getCurrentThreadCpuTime() - cpu) / 1e9);
                        }
                        double flops = 2.0 * 36 * c * c * n;
                        line.append(String.format("  %s %7.3f ms %6.1f GFLOP/s (cpu %6.1f)", bf16 ? "bf16" : "f32",
                                best * 1e3, flops / best / 1e9, flops / bestCpu / 1e9));
                    }
                    System.out.println(line);
                }
            }
            products.implementations().forEach(s -> System.out.println("  " + s));
        }
    }

    private static MemorySegment fill(MemorySegment s, boolean bf16, Random random) {
        long count = s.byteSize() / (bf16 ? 2 : 4);
        for (long i = 0; i < count; i++) {
            float f = (float) random.nextGaussian();
            if (bf16) {
                s.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits(f) >>> 16));
            } else {
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, f);
            }
        }
        return s;
    }

    private static int[] ints(String csv) {
        return java.util.Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
