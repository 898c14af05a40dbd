package io.vae4j.bench;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Backends;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.Precision;
import io.vae4j.backend.PreparedConv;
import io.vae4j.tensor.Tensor;

/**
 * A quick, JMH-free look at convolution throughput while tuning kernels: best of N runs per shape, in GFLOP/s.
 * Usage: ConvProbe [backend[:fp32|bf16]] [threads] [runs] [CxHxW[:OUT][:up|:1x1|:s2] ...] (up: the input
 * nearest-upsampled 2x first, as the decoder's upsampling convolutions; 1x1: a pointwise convolution; s2: the
 * SD encoder's stride-2 downsampling convolution). Use JMH (KernelBench) for numbers
 * you report.
 */
public final class ConvProbe {
    private static final java.lang.management.ThreadMXBean THREAD =
            java.lang.management.ManagementFactory.getThreadMXBean();
    private ConvProbe() {
    }

    public static void main(String[] args) {
        String backendName = args.length > 0 ? args[0] : "java";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        String[] shapes = args.length > 3 ? java.util.Arrays.copyOfRange(args, 3, args.length)
                : new String[]{"512x64x64", "256x128x128", "128x256x256"};
        String[] named = backendName.split(":");
        Backend b = Backends.create(named[0], threads, Precision.parse(named.length > 1 ? named[1] : "fp32"));
        for (String shape : shapes) {
            String[] io = shape.split(":");
            String[] p = io[0].split("x");
            int c = Integer.parseInt(p[0]), h = Integer.parseInt(p[1]), w = Integer.parseInt(p[2]);
            String kind = io[io.length - 1];
            boolean up = kind.equals("up"), pointwise = kind.equals("1x1"), strided = kind.equals("s2");
            int out = io.length > (up || pointwise || strided ? 2 : 1) ? Integer.parseInt(io[1]) : c;
            int k = pointwise ? 1 : 3;
            try (Tensor in = KernelBench.random(0.5f, 1, c, h, w)) {
                PreparedConv conv = b.prepareConv(new ConvParams("probe", KernelBench.random(0.02f, out, c, k, k),
                        KernelBench.random(0.1f, out), pointwise ? ConvGeometry.pointwise()
                        : strided ? ConvGeometry.ldmDownsample() : ConvGeometry.same3x3()));
                double flops = 2.0 * conv.params().macs(up ? 2 * h : h, up ? 2 * w : w);
                double best = Double.MAX_VALUE, bestCpu = Double.MAX_VALUE;
                for (int r = 0; r < runs; r++) {
                    long t = System.nanoTime(), cpu = THREAD.getCurrentThreadCpuTime();
                    (up ? b.upsampleConv2d(in, conv) : b.conv2d(in, conv, null)).close();
                    best = Math.min(best, (System.nanoTime() - t) / 1e9);
                    bestCpu = Math.min(bestCpu, (THREAD.getCurrentThreadCpuTime() - cpu) / 1e9);
                }
                // With one thread all the work is on this one, so its CPU time is a number the machine's other
                // load barely moves (wall time on a shared machine does).
                System.out.printf("%-12s %s %s threads=%d best %.1f ms  %.1f GFLOP/s%s%n", shape, b.name(),
                        b.precision().id(), threads, best * 1e3, flops / best / 1e9, threads == 1
                                ? String.format("  (cpu %.1f ms, %.1f GFLOP/s)", bestCpu * 1e3, flops / bestCpu / 1e9)
                                : "");
            }
        }
    }
}
