package io.vae4j.bench;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Backends;
import io.vae4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The SD VAE's mid-block attention (one head, C = 512) at the latent sizes of 512² (64x64, 4096 tokens) and 1024²
 * (128x128, 16384 tokens) images: 4·t²·C FLOP per call, printed at setup so the time converts to GFLOP/s.
 * Run: bench/run-jmh AttentionBench
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AttentionBench {
    /** channels x height x width of q, k and v. */
    @Param({"512x64x64", "512x128x128"})
    public String shape;

    @Param({"java"})
    public String backend;

    @Param({"2"})
    public int threads;

    private Backend b;
    private Tensor q;
    private Tensor k;
    private Tensor v;

    @Setup(Level.Trial)
    public void setup() {
        int[] chw = KernelBench.dims(shape);
        int c = chw[0], h = chw[1], w = chw[2];
        b = Backends.create(backend, threads);
        q = KernelBench.random(1f, 1, c, h, w);
        k = KernelBench.random(1f, 1, c, h, w);
        v = KernelBench.random(1f, 1, c, h, w);
        double t = (double) h * w;
        System.err.printf("AttentionBench %s %s: %.2f GFLOP/call%n", backend, shape, 4e-9 * t * t * c);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        q.close();
        k.close();
        v.close();
        b.close();
    }

    @Benchmark
    public void attention() {
        b.attention(q, k, v).close();
    }
}
