package io.vae4j.bench;

import io.vae4j.backend.Backends;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.RandomWeights;
import io.vae4j.model.taesd.Taesd;
import io.vae4j.model.taesd.TaesdShapes;
import io.vae4j.model.taesd.TaesdVariant;
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
 * The TAESD decoder (real taesd shapes, random weights; TAEF2 with {@code -p variant=TAEF2}) at 512x512 and
 * 1024x1024: the full decode and the 1/4-size preview.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TaesdBench {
    @Param({"512", "1024"})
    public int size;

    @Param({"2"})
    public int threads;

    @Param({"TAESD"})
    public String variant;

    private Model model;
    private Tensor latent;

    @Setup(Level.Trial)
    public void setup() {
        TaesdVariant v = TaesdVariant.valueOf(variant);
        model = ModelLoader.load(RandomWeights.of("random-" + v.id.replace('/', '-'),
                TaesdShapes.decoder(TaesdShapes.config(v)), 42), null, Backends.create("java", threads), null);
        int f = model.vae().downscale();
        latent = KernelBench.random(1f, 1, model.vae().latentChannels(), size / f, size / f);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
        latent.close();
    }

    @Benchmark
    public void decode() {
        model.vae().decode(latent).close();
    }

    @Benchmark
    public void preview4() {
        ((Taesd) model.vae()).decodePreview(latent, 4).close();
    }
}
