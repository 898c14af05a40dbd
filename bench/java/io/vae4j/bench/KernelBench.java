package io.vae4j.bench;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Backends;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.PreparedConv;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.vector.BlockedKernels;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The kernels of an SD-size decoder at the shapes it runs them. JMH reports milliseconds per call; setup prints
 * each convolution's GFLOP per call (2 · multiply-adds, direct-convolution count), so GFLOP/s = that / seconds.
 * Compare with FmaPeakBench, the machine's register-only FMA ceiling.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class KernelBench {
    /** channels x height x width of the convolution input; output channels equal input channels. */
    @Param({"512x64x64", "256x256x256", "128x512x512"})
    public String shape;

    /** "onednn" needs libdnnl (Debian's libdnnl2); Backends.create says so when it is missing. */
    @Param({"java", "onednn"})
    public String backend;

    @Param({"2"})
    public int threads;

    private Backend b;
    private Tensor input;
    private PreparedConv conv3x3;
    private PreparedConv conv1x1;
    private Tensor gamma;
    private Tensor beta;

    @Setup(Level.Trial)
    public void setup() {
        int[] chw = dims(shape);
        int c = chw[0], h = chw[1], w = chw[2];
        b = Backends.create(backend, threads);
        input = random(0.5f, 1, c, h, w);
        if (b instanceof OneDnnBackend o && o.keptLayout() != null) {
            // As in a model's graph, where the previous layer left it in the layout the backend keeps.
            try (Tensor nchw = input) {
                input = BlockedKernels.fromNchw(o.vector().parallel(), nchw, o.keptLayout());
            }
        }
        conv3x3 = b.prepareConv(new ConvParams("conv3x3", random(0.02f, c, c, 3, 3), random(0.1f, c),
                ConvGeometry.same3x3()));
        conv1x1 = b.prepareConv(new ConvParams("conv1x1", random(0.05f, c, c, 1, 1), random(0.1f, c),
                ConvGeometry.pointwise()));
        gamma = random(1f, c);
        beta = random(1f, c);
        System.err.printf("KernelBench %s %s: conv3x3 %.3f GFLOP/call, conv1x1 %.3f GFLOP/call,"
                        + " upsampleConv3x3 %.3f GFLOP/call (direct-equivalent, at 2h x 2w)%n", backend, shape,
                2e-9 * conv3x3.params().macs(h, w), 2e-9 * conv1x1.params().macs(h, w),
                2e-9 * conv3x3.params().macs(2 * h, 2 * w));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        input.close();
        conv3x3.close();
        conv1x1.close();
        if (b instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** "CxHxW" as {C, H, W}. */
    static int[] dims(String shape) {
        String[] p = shape.split("x");
        return new int[]{Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
    }

    static Tensor random(float scale, int... shape) {
        SplittableRandom r = new SplittableRandom(5);
        Tensor t = Tensor.allocate(shape);
        for (long i = 0; i < t.numel(); i++) {
            t.set(i, (float) r.nextDouble(-scale, scale));
        }
        return t;
    }

    @Benchmark
    public void conv3x3() {
        b.conv2d(input, conv3x3, null).close();
    }

    @Benchmark
    public void conv1x1() {
        b.conv2d(input, conv1x1, null).close();
    }

    /** Nearest 2x upsample folded into the 3x3 convolution that follows it (the decoder's Upsample layers). */
    @Benchmark
    public void upsampleConv3x3() {
        b.upsampleConv2d(input, conv3x3).close();
    }

    @Benchmark
    public void groupNormSilu() {
        b.groupNorm(input, gamma, beta, 32, 1e-6f, true).close();
    }
}
