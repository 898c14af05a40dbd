package io.vae4j.backend.vector;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MeanVarianceTest {
    /** Against a two-pass sum in double, for ranges with a large mean, a drifting mean and ragged ends. */
    @ParameterizedTest(name = "{0} values, mean {1}, drift {2}")
    @CsvSource({"1, 3, 0", "17, -2, 0", "4096, 0, 0", "4111, 1000, 0", "65536, 50, 40", "300000, -7, 5"})
    void oneSinglePassMatchesTwoPassesInDouble(int count, double mean, double drift) {
        Random random = new Random(count);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * (count + 10), 64);
            for (int i = 0; i < count + 10; i++) {
                // Five floats on each side of the range lie outside it: they must not count.
                double x = mean + drift * i / count + random.nextGaussian();
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (i < 5 || i >= count + 5 ? 1e6 : x));
            }
            double sum = 0;
            for (int i = 5; i < count + 5; i++) {
                sum += seg.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            }
            double m = sum / count, sq = 0;
            for (int i = 5; i < count + 5; i++) {
                double d = seg.getAtIndex(ValueLayout.JAVA_FLOAT, i) - m;
                sq += d * d;
            }
            double[] stats = VectorBackend.meanVariance(seg, 5, count);
            assertEquals(m, stats[0], 1e-6 * Math.max(1, Math.abs(m)), "mean");
            assertEquals(sq / count, stats[1], 1e-5 * sq / count + 1e-12, "variance");
        }
    }
}
