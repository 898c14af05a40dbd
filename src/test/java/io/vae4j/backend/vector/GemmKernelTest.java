package io.vae4j.backend.vector;

import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Both register blockings of the micro-kernel (8-row blocks for 32 vector registers, 4-row ones for AVX2's 16)
 * against a plain double-precision product, on whichever machine runs the tests: each machine uses only one of
 * them, so the other is checked only here.
 */
class GemmKernelTest {
    private static final int NR = GemmKernel.NR;

    private static MemorySegment random(Tensor t, Random r) {
        for (long i = 0; i < t.numel(); i++) {
            t.data().set(DType.FLOAT, i * 4, (float) r.nextGaussian());
        }
        return t.data();
    }

    /** Odd and even depths: the AVX2 kernels take two k steps a loop and the odd one after. */
    @ParameterizedTest(name = "rows {0}, depth {1}")
    @CsvSource({"8, 37", "16, 36", "40, 37", "8, 1", "8, 2"})
    void packedBlockingsMatchPlainProduct(int rows, int k) {
        Random r = new Random(rows * 100L + k);
        try (Tensor a = Tensor.uninitialized(rows, k); Tensor b = Tensor.uninitialized(k, NR);
             Tensor c4 = Tensor.uninitialized(rows, NR); Tensor c8 = Tensor.uninitialized(rows, NR)) {
            random(a, r);
            random(b, r);
            GemmKernel.multiplyPacked(a.data(), 0, rows, k, b.data(), 0, c4.data(), 0, NR, true);
            GemmKernel.multiplyPacked(a.data(), 0, rows, k, b.data(), 0, c8.data(), 0, NR, false);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < NR; j++) {
                    double want = 0;
                    for (int kk = 0; kk < k; kk++) {
                        // A in 8-row panels: A[i][k] at (i / 8)·8·k + 8·k + i % 8.
                        want += a.get((long) (i / 8) * 8 * k + 8L * kk + i % 8) * (double) b.get((long) kk * NR + j);
                    }
                    long at = (long) i * NR + j;
                    assertTrue(Math.abs(c4.get(at) - want) < 1e-4, "3x3 (" + i + ", " + j + ")");
                    assertTrue(Math.abs(c8.get(at) - want) < 1e-4, "8x3 (" + i + ", " + j + ")");
                }
            }
        }
    }

    @ParameterizedTest(name = "rows {0}, depth {1}")
    @CsvSource({"3, 19", "8, 19", "13, 19", "21, 19", "8, 20", "14, 2", "5, 1"})
    void offsetTableBlockingsMatchPlainProduct(int rows, int k) {
        Random r = new Random(100L * k + rows);
        int cols = 2 * NR + 5;
        try (Tensor a = Tensor.uninitialized(rows, k); Tensor b = Tensor.uninitialized(k, cols);
             Tensor c4 = Tensor.uninitialized(rows, cols); Tensor c8 = Tensor.uninitialized(rows, cols)) {
            random(a, r);
            random(b, r);
            long[] bRow = VectorBackend.rows(k, cols);
            GemmKernel.multiply(a.data(), 0, k, 0, rows, k, b.data(), 0, bRow, 0, cols, false, c4.data(), 0, cols,
                    true);
            GemmKernel.multiply(a.data(), 0, k, 0, rows, k, b.data(), 0, bRow, 0, cols, false, c8.data(), 0, cols,
                    false);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    double want = 0;
                    for (int kk = 0; kk < k; kk++) {
                        want += a.get((long) i * k + kk) * (double) b.get((long) kk * cols + j);
                    }
                    long at = (long) i * cols + j;
                    assertTrue(Math.abs(c4.get(at) - want) < 1e-4, "16 registers (" + i + ", " + j + ")");
                    assertTrue(Math.abs(c8.get(at) - want) < 1e-4, "32 registers (" + i + ", " + j + ")");
                }
            }
        }
    }
}
