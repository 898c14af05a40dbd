package io.vae4j.backend.vector;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

/**
 * The packed GEMM micro-kernel alone ({@link GemmKernel#multiplyPacked}), as the Winograd convolutions call it:
 * {@code points} products of 64 output channels (one block) by {@code depth} input channels by NR tiles, each point
 * with its own A and B, one thread. In this package because the kernel is package-private. The score counts FMA
 * vector instructions per microsecond, the unit of {@code FmaPeakBench}: score / FmaPeakBench.oneThread is the
 * fraction of the machine's FMA ceiling the kernel reaches, with its operands streamed from cache rather than held
 * in registers. (1 point: A and B stay in L1/L2; 36: B is 36 x depth x NR floats, past L2 at 512.)
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MicroKernelBench {
    private static final int ROWS = 64;
    /** FMA vector instructions per invocation, whatever the parameters: the largest case once, smaller ones again. */
    private static final int FMAS = ROWS * 512 * GemmKernel.NV * 36;

    @Param({"128", "512"})
    public int depth;

    @Param({"1", "36"})
    public int points;

    private Arena arena;
    private MemorySegment a;
    private MemorySegment b;
    private MemorySegment c;

    @Setup(Level.Trial)
    public void setup() {
        int nr = GemmKernel.NR;
        arena = Arena.ofShared();
        a = fill(arena.allocate(4L * points * ROWS * depth, 64), 7);
        b = fill(arena.allocate(4L * points * depth * nr, 64), 5);
        c = arena.allocate(4L * points * ROWS * nr, 64);
        repeats = FMAS / Math.toIntExact(fmas());
    }

    private int repeats;

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    private long fmas() {
        return (long) points * ROWS * depth * GemmKernel.NV;
    }

    private static MemorySegment fill(MemorySegment s, int period) {
        for (long i = 0; i < s.byteSize() / 4; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i % period) * 0.01f);
        }
        return s;
    }

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(FMAS)
    public void products() {
        int nr = GemmKernel.NR;
        for (int r = 0; r < repeats; r++) {
            for (int p = 0; p < points; p++) {
                GemmKernel.multiplyPacked(a, (long) p * ROWS * depth, ROWS, depth, b, (long) p * depth * nr, c,
                        (long) p * ROWS * nr, nr);
            }
        }
    }
}
