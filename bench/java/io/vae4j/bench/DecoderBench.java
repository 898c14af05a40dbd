package io.vae4j.bench;

import io.vae4j.backend.Backends;
import io.vae4j.backend.Precision;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.RandomWeights;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.ResidentMemory;
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
 * The whole SD-size VAE (real architecture, random weights): decode and encode, 512x512 and 1024x1024, fp32 and
 * bf16, 1 and 2 threads, on the backend {@code auto} picks for the precision. JMH has no resident-memory metric, so
 * each trial prints its peak RSS (VmHWM, reset after setup) when it ends. Pick a subset with -p, e.g.
 * {@code ./bench/run-jmh DecoderBench.decode -p size=1024 -p threads=2 -p precision=fp32}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class DecoderBench {
    @Param({"512", "1024"})
    public int size;

    @Param({"1", "2"})
    public int threads;

    @Param({"fp32", "bf16"})
    public String precision;

    private Model model;
    private Tensor latent;
    private Tensor image;

    @Setup(Level.Trial)
    public void setup() {
        model = ModelLoader.load(RandomWeights.of("random-sd-vae", KlShapes.of(KlShapes.sdConfig(4, true)), 42),
                null, Backends.create("auto", threads, Precision.parse(precision)), null);
        latent = KernelBench.random(1f, 1, 4, size / 8, size / 8);
        image = KernelBench.random(1f, 1, 3, size, size);
        Tensor.releaseIdle();
        ResidentMemory.resetPeak();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        System.out.printf("%npeak RSS %d MB (%s %dx%d, %d threads)%n", ResidentMemory.peak() / 1_000_000, precision,
                size, size, threads);
        model.close();
        latent.close();
        image.close();
    }

    @Benchmark
    public void decode() {
        model.vae().decode(latent).close();
    }

    @Benchmark
    public void encode() {
        model.vae().encode(image).close();
    }
}
