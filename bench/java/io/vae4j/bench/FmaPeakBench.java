package io.vae4j.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The machine's fused multiply-add ceiling as the Vector API sees it: independent accumulators in registers, no
 * memory traffic. Score = FMA vector instructions per microsecond; GFLOP/s = score · 2 · lanes / 1000 per thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class FmaPeakBench {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int STEPS = 1 << 16;
    public float seed = 1.0001f;

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(STEPS * 12)
    public float oneThread() {
        return loop();
    }

    @Benchmark
    @Threads(2)
    @OperationsPerInvocation(STEPS * 12)
    public float twoThreads() {
        return loop();
    }

    private float loop() {
        FloatVector m = FloatVector.broadcast(S, seed), a = FloatVector.broadcast(S, 0.999f);
        FloatVector c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
        for (int i = 0; i < STEPS; i++) {
            c0 = c0.fma(a, m);
            c1 = c1.fma(a, m);
            c2 = c2.fma(a, m);
            c3 = c3.fma(a, m);
            c4 = c4.fma(a, m);
            c5 = c5.fma(a, m);
            c6 = c6.fma(a, m);
            c7 = c7.fma(a, m);
            c8 = c8.fma(a, m);
            c9 = c9.fma(a, m);
            c10 = c10.fma(a, m);
            c11 = c11.fma(a, m);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
