package io.vae4j.bench;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Backends;
import io.vae4j.tensor.Tensor;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * A quick, JMH-free look at attention throughput (the VAE mid block's): best of N runs, wall and, with one thread,
 * this thread's CPU time. Usage: AttentionProbe [backend] [threads] [runs] [CxHxW].
 */
public final class AttentionProbe {
    private static final ThreadMXBean THREAD = ManagementFactory.getThreadMXBean();

    private AttentionProbe() {
    }

    public static void main(String[] args) {
        String backendName = args.length > 0 ? args[0] : "java";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        String[] p = (args.length > 3 ? args[3] : "512x64x64").split("x");
        int c = Integer.parseInt(p[0]), h = Integer.parseInt(p[1]), w = Integer.parseInt(p[2]);
        Backend b = Backends.create(backendName, threads);
        try (Tensor q = KernelBench.random(0.5f, 1, c, h, w); Tensor k = KernelBench.random(0.5f, 1, c, h, w);
             Tensor v = KernelBench.random(0.5f, 1, c, h, w)) {
            long t = (long) h * w;
            double flops = 4.0 * t * t * c;
            double best = Double.MAX_VALUE, bestCpu = Double.MAX_VALUE;
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime(), cpu = THREAD.getCurrentThreadCpuTime();
                b.attention(q, k, v).close();
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
                bestCpu = Math.min(bestCpu, (THREAD.getCurrentThreadCpuTime() - cpu) / 1e9);
            }
            System.out.printf("attention %dx%dx%d %s threads=%d best %.1f ms  %.1f GFLOP/s  (cpu %.1f ms)%n", c, h, w,
                    b.name(), threads, best * 1e3, flops / best / 1e9, bestCpu * 1e3);
        }
    }
}
