package io.vae4j.bench;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Backends;
import io.vae4j.backend.Precision;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.RandomWeights;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.tensor.Tensor;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The SD-size decode (or encode) on one thread, timed in the calling thread's CPU time: with one thread every
 * kernel (Vector API and oneDNN's OpenMP team of one) runs on it, so the number hardly moves with the load other
 * users put on a shared machine, unlike wall time. Usage: DecodeCpuProbe [backend:precision] [size] [runs] [op].
 */
public final class DecodeCpuProbe {
    private static final ThreadMXBean THREAD = ManagementFactory.getThreadMXBean();

    private DecodeCpuProbe() {
    }

    public static void main(String[] args) {
        String[] named = (args.length > 0 ? args[0] : "java:fp32").split(":");
        int size = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        boolean encode = args.length > 3 && args[3].equals("encode");
        try (Backend b = Backends.create(named[0], 1, Precision.parse(named.length > 1 ? named[1] : "fp32"));
             Model model = ModelLoader.load(RandomWeights.of("random-sd-vae",
                     KlShapes.of(KlShapes.sdConfig(4, true)), 42), null, b, null)) {
            Tensor input = encode ? Tensor.allocate(1, 3, size, size) : Tensor.allocate(1, 4, size / 8, size / 8);
            SplittableRandom r = new SplittableRandom(1);
            for (long i = 0; i < input.numel(); i++) {
                input.set(i, (float) r.nextDouble(-1, 1));
            }
            double[] cpu = new double[runs];
            for (int i = -1; i < runs; i++) {
                long t = THREAD.getCurrentThreadCpuTime();
                if (encode) {
                    model.vae().encode(input).close();
                } else {
                    model.vae().decode(input).close();
                }
                double s = (THREAD.getCurrentThreadCpuTime() - t) / 1e9;
                if (i >= 0) {
                    cpu[i] = s;
                }
                System.err.printf("run %d: %.3f s cpu%n", i, s);
            }
            Arrays.sort(cpu);
            System.out.printf("%s %s %d: cpu median %.3f s, min %.3f s%n", encode ? "encode" : "decode",
                    String.join(":", named), size, cpu[runs / 2], cpu[0]);
        }
    }
}
