package io.vae4j.backend.vector;

import io.vae4j.tensor.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The one register-blocked micro-kernel every heavy op runs on: C = A·B for a block of C, where A is row-major and
 * the rows of B are found through a table of offsets. With {@code bRow[k] = k*ldb} it is a plain GEMM (1x1
 * convolutions, attention); with offsets into zero-padded input planes it is a 3x3 convolution of any stride
 * (each (input channel, tap) pair is one row of B, shifted so that output pixel j reads B[k][j]).
 *
 * <p>The kernel keeps MR rows × NV vectors of C in registers and streams K: per k it loads NV vectors of B once
 * and reuses each for MR fused multiply-adds with broadcast A values. All offsets are in floats.
 */
final class GemmKernel {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int L = SPECIES.length();
    /** Rows of C the main kernel keeps in registers: 8 × 3 vectors = 24 accumulators of the 32 AVX-512 registers. */
    static final int MR = 8;
    static final int NV = 3;
    /** Columns of C one micro-kernel call covers. */
    static final int NR = NV * L;
    /**
     * Whether the machine has 16 vector registers, not 32: 256-bit vectors on x86 are AVX2's. There the 8x3 kernel's
     * 28 live vectors spill on every step, so the 8-row panels run as 3x3, 3x3 and 2x3 blocks. Not 4x3: its 12
     * accumulators, 3 B vectors and broadcast fill all 16 registers, C2 keeps two broadcasts live, and the
     * accumulator it spills chains every step through a store and a load (about half the FMA ceiling on Zen 3).
     */
    static final boolean FEW_REGISTERS = SPECIES.vectorBitSize() == 256;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private GemmKernel() {
    }

    /**
     * C[i][j] = Σ_k A[aOff + i*lda + k] · B[bBase + bRow[k] + j] for i in [i0, i1), j in [j0, j1); C is overwritten.
     * When {@code bPadded}, B may be read up to NR-1 floats past column j1 (the caller allocated slack), so the
     * column tail runs without masks.
     */
    static void multiply(MemorySegment a, long aOff, long lda, int i0, int i1, int kCount,
                         MemorySegment b, long bBase, long[] bRow, int j0, int j1, boolean bPadded,
                         MemorySegment c, long cOff, long ldc) {
        multiply(a, aOff, lda, i0, i1, kCount, b, bBase, bRow, j0, j1, bPadded, c, cOff, ldc, FEW_REGISTERS);
    }

    /** {@link #multiply} with or without 8-row blocks, whatever the machine (so tests run both). */
    static void multiply(MemorySegment a, long aOff, long lda, int i0, int i1, int kCount,
                         MemorySegment b, long bBase, long[] bRow, int j0, int j1, boolean bPadded,
                         MemorySegment c, long cOff, long ldc, boolean fewRegisters) {
        int i = i0;
        for (; i + 8 <= i1 && !fewRegisters; i += 8) {
            long aRow = aOff + i * lda;
            int j = j0;
            for (; j + NR <= j1; j += NR) {
                block8x3(a, aRow, lda, kCount, b, bBase + j, bRow, c, cOff + i * ldc + j, ldc);
            }
            for (; j < j1; j += L) {
                int n = Math.min(L, j1 - j);
                block4x1(a, aRow, lda, kCount, b, bBase + j, bRow, c, cOff + i * ldc + j, ldc, n, bPadded);
                block4x1(a, aRow + 4 * lda, lda, kCount, b, bBase + j, bRow, c, cOff + (i + 4) * ldc + j, ldc, n,
                        bPadded);
            }
        }
        for (; i + 4 <= i1; i += 4) {
            long aRow = aOff + i * lda;
            int j = j0;
            for (; j + NR <= j1; j += NR) {
                block4x3(a, aRow, lda, kCount, b, bBase + j, bRow, c, cOff + i * ldc + j, ldc);
            }
            for (; j < j1; j += L) {
                int n = Math.min(L, j1 - j);
                block4x1(a, aRow, lda, kCount, b, bBase + j, bRow, c, cOff + i * ldc + j, ldc, n, bPadded);
            }
        }
        if (i1 - i == 3) {
            // Three rows left (an RGB output convolution): four vectors wide, so each B load feeds three FMAs.
            long aRow = aOff + i * lda;
            int j = j0;
            for (; j + 4 * L <= j1; j += 4 * L) {
                block3x4(a, aRow, lda, kCount, b, bBase + j, bRow, c, cOff + i * ldc + j, ldc);
            }
            for (int r = 0; r < 3; r++) {
                for (int jj = j; jj < j1; jj += L) {
                    int n = Math.min(L, j1 - jj);
                    block1x1(a, aRow + r * lda, kCount, b, bBase + jj, bRow, c, cOff + (i + r) * ldc + jj, n,
                            bPadded);
                }
            }
            i = i1;
        }
        for (; i < i1; i++) {
            long aRow = aOff + i * lda;
            int j = j0;
            for (; j + NR <= j1; j += NR) {
                block1x3(a, aRow, kCount, b, bBase + j, bRow, c, cOff + i * ldc + j);
            }
            for (; j < j1; j += L) {
                int n = Math.min(L, j1 - j);
                block1x1(a, aRow, kCount, b, bBase + j, bRow, c, cOff + i * ldc + j, n, bPadded);
            }
        }
    }

    /**
     * C = A·B for rows [0, rows) (a multiple of 8) and the NR columns of B ([kCount][NR], from float bBase), where A
     * is packed in panels of 8 rows: A[i][k] at aOff + (i / 8)·8·kCount + 8·k + i % 8, so the 8 values each k step
     * broadcasts share one cache line. B's row stride is the constant NR, not a parameter, so that C2 can prove
     * the kernels' loads in bounds once per call rather than check each (a stride it cannot see kept the check).
     */
    static void multiplyPacked(MemorySegment a, long aOff, int rows, int kCount, MemorySegment b, long bBase,
                               MemorySegment c, long cOff, long ldc) {
        multiplyPacked(a, aOff, rows, kCount, b, bBase, c, cOff, ldc, FEW_REGISTERS);
    }

    /** Where A[i][k] of a [rows][kCount] matrix stands in {@link #multiplyPacked}'s 8-row panels, in floats. */
    static long panelIndex(long i, long k, int kCount) {
        return (i / 8) * 8L * kCount + 8 * k + i % 8;
    }

    /** {@link #multiplyPacked} by 3x3, 3x3 and 2x3 blocks or by 8x3 ones, whatever the machine (so tests run both). */
    static void multiplyPacked(MemorySegment a, long aOff, int rows, int kCount, MemorySegment b, long bBase,
                               MemorySegment c, long cOff, long ldc, boolean thirds) {
        for (int i = 0; i < rows; i += 8) {
            long panel = (aOff + (long) i * kCount) * 4;
            if (thirds) {
                block3x3Packed(a, panel, kCount, b, bBase, c, cOff + i * ldc, ldc);
                block3x3Packed(a, panel + 12, kCount, b, bBase, c, cOff + (i + 3) * ldc, ldc);
                block2x3Packed(a, panel + 24, kCount, b, bBase, c, cOff + (i + 6) * ldc, ldc);
            } else {
                block8x3Packed(a, panel, kCount, b, bBase, c, cOff + i * ldc, ldc);
            }
        }
    }

    /**
     * Rows 0-2 or 3-5 of an 8-row panel (from byte a0, or a0 + 12) for {@link #FEW_REGISTERS}: 9 accumulators, 3 B
     * vectors and at most two broadcasts stay in registers. Two k steps a loop: one step's address arithmetic and
     * range checks left C2's loop short of the FMA ceiling (1.7x slower on Zen 3). The stores are written out: a
     * helper storing three vectors was not inlined, boxed them, and slowed the loop too.
     */
    private static void block3x3Packed(MemorySegment a, long a0, int kCount, MemorySegment b, long bCol,
                                       MemorySegment c, long cPos, long ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00;
        long b0 = bCol * 4, v = 4L * L, bStep = 4L * NR;
        int k = 0;
        for (; k + 1 < kCount; k += 2) {
            long bp = b0 + bStep * k, ak = a0 + 32L * k;
            FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, b, bp, LE);
            FloatVector x1 = FloatVector.fromMemorySegment(SPECIES, b, bp + v, LE);
            FloatVector x2 = FloatVector.fromMemorySegment(SPECIES, b, bp + 2 * v, LE);
            FloatVector w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak));
            c00 = w.fma(x0, c00);
            c01 = w.fma(x1, c01);
            c02 = w.fma(x2, c02);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 4));
            c10 = w.fma(x0, c10);
            c11 = w.fma(x1, c11);
            c12 = w.fma(x2, c12);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 8));
            c20 = w.fma(x0, c20);
            c21 = w.fma(x1, c21);
            c22 = w.fma(x2, c22);
            x0 = FloatVector.fromMemorySegment(SPECIES, b, bp + bStep, LE);
            x1 = FloatVector.fromMemorySegment(SPECIES, b, bp + bStep + v, LE);
            x2 = FloatVector.fromMemorySegment(SPECIES, b, bp + bStep + 2 * v, LE);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 32));
            c00 = w.fma(x0, c00);
            c01 = w.fma(x1, c01);
            c02 = w.fma(x2, c02);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 36));
            c10 = w.fma(x0, c10);
            c11 = w.fma(x1, c11);
            c12 = w.fma(x2, c12);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 40));
            c20 = w.fma(x0, c20);
            c21 = w.fma(x1, c21);
            c22 = w.fma(x2, c22);
        }
        if (k < kCount) {
            long bp = b0 + bStep * k, ak = a0 + 32L * k;
            FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, b, bp, LE);
            FloatVector x1 = FloatVector.fromMemorySegment(SPECIES, b, bp + v, LE);
            FloatVector x2 = FloatVector.fromMemorySegment(SPECIES, b, bp + 2 * v, LE);
            FloatVector w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak));
            c00 = w.fma(x0, c00);
            c01 = w.fma(x1, c01);
            c02 = w.fma(x2, c02);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 4));
            c10 = w.fma(x0, c10);
            c11 = w.fma(x1, c11);
            c12 = w.fma(x2, c12);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 8));
            c20 = w.fma(x0, c20);
            c21 = w.fma(x1, c21);
            c22 = w.fma(x2, c22);
        }
        long p = cPos * 4, row = ldc * 4;
        c00.intoMemorySegment(c, p, LE);
        c01.intoMemorySegment(c, p + v, LE);
        c02.intoMemorySegment(c, p + 2 * v, LE);
        c10.intoMemorySegment(c, p + row, LE);
        c11.intoMemorySegment(c, p + row + v, LE);
        c12.intoMemorySegment(c, p + row + 2 * v, LE);
        c20.intoMemorySegment(c, p + 2 * row, LE);
        c21.intoMemorySegment(c, p + 2 * row + v, LE);
        c22.intoMemorySegment(c, p + 2 * row + 2 * v, LE);
    }

    /** Rows 6-7 of an 8-row panel (from byte a0 + 24) for {@link #FEW_REGISTERS}; one k step a loop is as fast here. */
    private static void block2x3Packed(MemorySegment a, long a0, int kCount, MemorySegment b, long bCol,
                                       MemorySegment c, long cPos, long ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00;
        long b0 = bCol * 4, v = 4L * L;
        for (int k = 0; k < kCount; k++) {
            long bp = b0 + 4L * NR * k, ak = a0 + 32L * k;
            FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, b, bp, LE);
            FloatVector x1 = FloatVector.fromMemorySegment(SPECIES, b, bp + v, LE);
            FloatVector x2 = FloatVector.fromMemorySegment(SPECIES, b, bp + 2 * v, LE);
            FloatVector w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak));
            c00 = w.fma(x0, c00);
            c01 = w.fma(x1, c01);
            c02 = w.fma(x2, c02);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 4));
            c10 = w.fma(x0, c10);
            c11 = w.fma(x1, c11);
            c12 = w.fma(x2, c12);
        }
        long p = cPos * 4, row = ldc * 4;
        c00.intoMemorySegment(c, p, LE);
        c01.intoMemorySegment(c, p + v, LE);
        c02.intoMemorySegment(c, p + 2 * v, LE);
        c10.intoMemorySegment(c, p + row, LE);
        c11.intoMemorySegment(c, p + row + v, LE);
        c12.intoMemorySegment(c, p + row + 2 * v, LE);
    }

    /** block8x3 for A packed in 8-row panels (a0 in bytes) and B [kCount][NR]: no offset table. */
    private static void block8x3Packed(MemorySegment a, long a0, int kCount, MemorySegment b, long bCol,
                                       MemorySegment c, long cPos, long ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00;
        FloatVector c50 = c00, c51 = c00, c52 = c00;
        FloatVector c60 = c00, c61 = c00, c62 = c00;
        FloatVector c70 = c00, c71 = c00, c72 = c00;
        for (int k = 0; k < kCount; k++) {
            long bp = (bCol + (long) k * NR) * 4;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, bp, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, bp + 4L * L, LE);
            FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, b, bp + 8L * L, LE);
            long ak = a0 + 32L * k;
            FloatVector w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak));
            c00 = w.fma(b0, c00);
            c01 = w.fma(b1, c01);
            c02 = w.fma(b2, c02);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 4));
            c10 = w.fma(b0, c10);
            c11 = w.fma(b1, c11);
            c12 = w.fma(b2, c12);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 8));
            c20 = w.fma(b0, c20);
            c21 = w.fma(b1, c21);
            c22 = w.fma(b2, c22);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 12));
            c30 = w.fma(b0, c30);
            c31 = w.fma(b1, c31);
            c32 = w.fma(b2, c32);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 16));
            c40 = w.fma(b0, c40);
            c41 = w.fma(b1, c41);
            c42 = w.fma(b2, c42);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 20));
            c50 = w.fma(b0, c50);
            c51 = w.fma(b1, c51);
            c52 = w.fma(b2, c52);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 24));
            c60 = w.fma(b0, c60);
            c61 = w.fma(b1, c61);
            c62 = w.fma(b2, c62);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 28));
            c70 = w.fma(b0, c70);
            c71 = w.fma(b1, c71);
            c72 = w.fma(b2, c72);
        }
        long p = cPos * 4, row = ldc * 4, v = 4L * L;
        c00.intoMemorySegment(c, p + 0 * row, LE);
        c01.intoMemorySegment(c, p + 0 * row + v, LE);
        c02.intoMemorySegment(c, p + 0 * row + 2 * v, LE);
        c10.intoMemorySegment(c, p + 1 * row, LE);
        c11.intoMemorySegment(c, p + 1 * row + v, LE);
        c12.intoMemorySegment(c, p + 1 * row + 2 * v, LE);
        c20.intoMemorySegment(c, p + 2 * row, LE);
        c21.intoMemorySegment(c, p + 2 * row + v, LE);
        c22.intoMemorySegment(c, p + 2 * row + 2 * v, LE);
        c30.intoMemorySegment(c, p + 3 * row, LE);
        c31.intoMemorySegment(c, p + 3 * row + v, LE);
        c32.intoMemorySegment(c, p + 3 * row + 2 * v, LE);
        c40.intoMemorySegment(c, p + 4 * row, LE);
        c41.intoMemorySegment(c, p + 4 * row + v, LE);
        c42.intoMemorySegment(c, p + 4 * row + 2 * v, LE);
        c50.intoMemorySegment(c, p + 5 * row, LE);
        c51.intoMemorySegment(c, p + 5 * row + v, LE);
        c52.intoMemorySegment(c, p + 5 * row + 2 * v, LE);
        c60.intoMemorySegment(c, p + 6 * row, LE);
        c61.intoMemorySegment(c, p + 6 * row + v, LE);
        c62.intoMemorySegment(c, p + 6 * row + 2 * v, LE);
        c70.intoMemorySegment(c, p + 7 * row, LE);
        c71.intoMemorySegment(c, p + 7 * row + v, LE);
        c72.intoMemorySegment(c, p + 7 * row + 2 * v, LE);
    }

    private static void block8x3(MemorySegment a, long aRow, long lda, int kCount,
                                 MemorySegment b, long bCol, long[] bRow,
                                 MemorySegment c, long cPos, long ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00;
        FloatVector c50 = c00, c51 = c00, c52 = c00;
        FloatVector c60 = c00, c61 = c00, c62 = c00;
        FloatVector c70 = c00, c71 = c00, c72 = c00;
        long a0 = aRow * 4, st = lda * 4;
        for (int k = 0; k < kCount; k++) {
            long bp = (bCol + bRow[k]) * 4;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, bp, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, bp + 4L * L, LE);
            FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, b, bp + 8L * L, LE);
            long ak = a0 + 4L * k;
            FloatVector w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak));
            c00 = w.fma(b0, c00);
            c01 = w.fma(b1, c01);
            c02 = w.fma(b2, c02);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + st));
            c10 = w.fma(b0, c10);
            c11 = w.fma(b1, c11);
            c12 = w.fma(b2, c12);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 2 * st));
            c20 = w.fma(b0, c20);
            c21 = w.fma(b1, c21);
            c22 = w.fma(b2, c22);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 3 * st));
            c30 = w.fma(b0, c30);
            c31 = w.fma(b1, c31);
            c32 = w.fma(b2, c32);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 4 * st));
            c40 = w.fma(b0, c40);
            c41 = w.fma(b1, c41);
            c42 = w.fma(b2, c42);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 5 * st));
            c50 = w.fma(b0, c50);
            c51 = w.fma(b1, c51);
            c52 = w.fma(b2, c52);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 6 * st));
            c60 = w.fma(b0, c60);
            c61 = w.fma(b1, c61);
            c62 = w.fma(b2, c62);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 7 * st));
            c70 = w.fma(b0, c70);
            c71 = w.fma(b1, c71);
            c72 = w.fma(b2, c72);
        }
        long p = cPos * 4, row = ldc * 4, v = 4L * L;
        c00.intoMemorySegment(c, p + 0 * row, LE);
        c01.intoMemorySegment(c, p + 0 * row + v, LE);
        c02.intoMemorySegment(c, p + 0 * row + 2 * v, LE);
        c10.intoMemorySegment(c, p + 1 * row, LE);
        c11.intoMemorySegment(c, p + 1 * row + v, LE);
        c12.intoMemorySegment(c, p + 1 * row + 2 * v, LE);
        c20.intoMemorySegment(c, p + 2 * row, LE);
        c21.intoMemorySegment(c, p + 2 * row + v, LE);
        c22.intoMemorySegment(c, p + 2 * row + 2 * v, LE);
        c30.intoMemorySegment(c, p + 3 * row, LE);
        c31.intoMemorySegment(c, p + 3 * row + v, LE);
        c32.intoMemorySegment(c, p + 3 * row + 2 * v, LE);
        c40.intoMemorySegment(c, p + 4 * row, LE);
        c41.intoMemorySegment(c, p + 4 * row + v, LE);
        c42.intoMemorySegment(c, p + 4 * row + 2 * v, LE);
        c50.intoMemorySegment(c, p + 5 * row, LE);
        c51.intoMemorySegment(c, p + 5 * row + v, LE);
        c52.intoMemorySegment(c, p + 5 * row + 2 * v, LE);
        c60.intoMemorySegment(c, p + 6 * row, LE);
        c61.intoMemorySegment(c, p + 6 * row + v, LE);
        c62.intoMemorySegment(c, p + 6 * row + 2 * v, LE);
        c70.intoMemorySegment(c, p + 7 * row, LE);
        c71.intoMemorySegment(c, p + 7 * row + v, LE);
        c72.intoMemorySegment(c, p + 7 * row + 2 * v, LE);
    }

    private static void block3x4(MemorySegment a, long aRow, long lda, int kCount,
                                 MemorySegment b, long bCol, long[] bRow,
                                 MemorySegment c, long cPos, long ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        long a0 = aRow * 4, st = lda * 4;
        for (int k = 0; k < kCount; k++) {
            long bp = (bCol + bRow[k]) * 4;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, bp + 0L * L, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, bp + 4L * L, LE);
            FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, b, bp + 8L * L, LE);
            FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, b, bp + 12L * L, LE);
            long ak = a0 + 4L * k;
            FloatVector w0 = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak));
            c00 = w0.fma(b0, c00);
            c01 = w0.fma(b1, c01);
            c02 = w0.fma(b2, c02);
            c03 = w0.fma(b3, c03);
            FloatVector w1 = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + st));
            c10 = w1.fma(b0, c10);
            c11 = w1.fma(b1, c11);
            c12 = w1.fma(b2, c12);
            c13 = w1.fma(b3, c13);
            FloatVector w2 = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, ak + 2 * st));
            c20 = w2.fma(b0, c20);
            c21 = w2.fma(b1, c21);
            c22 = w2.fma(b2, c22);
            c23 = w2.fma(b3, c23);
        }
        long p = cPos * 4, row = ldc * 4, v = 4L * L;
        c00.intoMemorySegment(c, p + 0 * row + 0 * v, LE);
        c01.intoMemorySegment(c, p + 0 * row + 1 * v, LE);
        c02.intoMemorySegment(c, p + 0 * row + 2 * v, LE);
        c03.intoMemorySegment(c, p + 0 * row + 3 * v, LE);
        c10.intoMemorySegment(c, p + 1 * row + 0 * v, LE);
        c11.intoMemorySegment(c, p + 1 * row + 1 * v, LE);
        c12.intoMemorySegment(c, p + 1 * row + 2 * v, LE);
        c13.intoMemorySegment(c, p + 1 * row + 3 * v, LE);
        c20.intoMemorySegment(c, p + 2 * row + 0 * v, LE);
        c21.intoMemorySegment(c, p + 2 * row + 1 * v, LE);
        c22.intoMemorySegment(c, p + 2 * row + 2 * v, LE);
        c23.intoMemorySegment(c, p + 2 * row + 3 * v, LE);
    }

    private static void block1x3(MemorySegment a, long aRow, int kCount, MemorySegment b, long bCol, long[] bRow,
                                 MemorySegment c, long cPos) {
        FloatVector c0 = FloatVector.zero(SPECIES), c1 = c0, c2 = c0;
        long a0 = aRow * 4;
        for (int k = 0; k < kCount; k++) {
            long bp = (bCol + bRow[k]) * 4;
            FloatVector w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a0 + 4L * k));
            c0 = w.fma(FloatVector.fromMemorySegment(SPECIES, b, bp, LE), c0);
            c1 = w.fma(FloatVector.fromMemorySegment(SPECIES, b, bp + 4L * L, LE), c1);
            c2 = w.fma(FloatVector.fromMemorySegment(SPECIES, b, bp + 8L * L, LE), c2);
        }
        long p = cPos * 4, v = 4L * L;
        c0.intoMemorySegment(c, p, LE);
        c1.intoMemorySegment(c, p + v, LE);
        c2.intoMemorySegment(c, p + 2 * v, LE);
    }

    private static void block4x3(MemorySegment a, long aRow, long lda, int kCount,
                                 MemorySegment b, long bCol, long[] bRow,
                                 MemorySegment c, long cPos, long ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00;
        long a0 = aRow * 4, a1 = (aRow + lda) * 4, a2 = (aRow + 2 * lda) * 4, a3 = (aRow + 3 * lda) * 4;
        for (int k = 0; k < kCount; k++) {
            long bp = (bCol + bRow[k]) * 4;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, bp, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, bp + 4L * L, LE);
            FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, b, bp + 8L * L, LE);
            long ak = 4L * k;
            FloatVector w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a0 + ak));
            c00 = w.fma(b0, c00);
            c01 = w.fma(b1, c01);
            c02 = w.fma(b2, c02);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a1 + ak));
            c10 = w.fma(b0, c10);
            c11 = w.fma(b1, c11);
            c12 = w.fma(b2, c12);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a2 + ak));
            c20 = w.fma(b0, c20);
            c21 = w.fma(b1, c21);
            c22 = w.fma(b2, c22);
            w = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a3 + ak));
            c30 = w.fma(b0, c30);
            c31 = w.fma(b1, c31);
            c32 = w.fma(b2, c32);
        }
        long p = cPos * 4, row = ldc * 4, v = 4L * L;
        c00.intoMemorySegment(c, p, LE);
        c01.intoMemorySegment(c, p + v, LE);
        c02.intoMemorySegment(c, p + 2 * v, LE);
        p += row;
        c10.intoMemorySegment(c, p, LE);
        c11.intoMemorySegment(c, p + v, LE);
        c12.intoMemorySegment(c, p + 2 * v, LE);
        p += row;
        c20.intoMemorySegment(c, p, LE);
        c21.intoMemorySegment(c, p + v, LE);
        c22.intoMemorySegment(c, p + 2 * v, LE);
        p += row;
        c30.intoMemorySegment(c, p, LE);
        c31.intoMemorySegment(c, p + v, LE);
        c32.intoMemorySegment(c, p + 2 * v, LE);
    }

    private static void block4x1(MemorySegment a, long aRow, long lda, int kCount,
                                 MemorySegment b, long bCol, long[] bRow,
                                 MemorySegment c, long cPos, long ldc, int n, boolean bPadded) {
        VectorMask<Float> m = SPECIES.indexInRange(0, n);
        boolean full = n == L;
        FloatVector c0 = FloatVector.zero(SPECIES), c1 = c0, c2 = c0, c3 = c0;
        long a0 = aRow * 4, a1 = (aRow + lda) * 4, a2 = (aRow + 2 * lda) * 4, a3 = (aRow + 3 * lda) * 4;
        for (int k = 0; k < kCount; k++) {
            long bp = (bCol + bRow[k]) * 4;
            FloatVector b0 = full || bPadded
                    ? FloatVector.fromMemorySegment(SPECIES, b, bp, LE)
                    : FloatVector.fromMemorySegment(SPECIES, b, bp, LE, m);
            long ak = 4L * k;
            c0 = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a0 + ak)).fma(b0, c0);
            c1 = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a1 + ak)).fma(b0, c1);
            c2 = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a2 + ak)).fma(b0, c2);
            c3 = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a3 + ak)).fma(b0, c3);
        }
        long p = cPos * 4, row = ldc * 4;
        c0.intoMemorySegment(c, p, LE, m);
        c1.intoMemorySegment(c, p + row, LE, m);
        c2.intoMemorySegment(c, p + 2 * row, LE, m);
        c3.intoMemorySegment(c, p + 3 * row, LE, m);
    }

    private static void block1x1(MemorySegment a, long aRow, int kCount,
                                 MemorySegment b, long bCol, long[] bRow,
                                 MemorySegment c, long cPos, int n, boolean bPadded) {
        VectorMask<Float> m = SPECIES.indexInRange(0, n);
        boolean full = n == L;
        FloatVector c0 = FloatVector.zero(SPECIES);
        long a0 = aRow * 4;
        for (int k = 0; k < kCount; k++) {
            long bp = (bCol + bRow[k]) * 4;
            FloatVector b0 = full || bPadded
                    ? FloatVector.fromMemorySegment(SPECIES, b, bp, LE)
                    : FloatVector.fromMemorySegment(SPECIES, b, bp, LE, m);
            c0 = FloatVector.broadcast(SPECIES, a.get(DType.FLOAT, a0 + 4L * k)).fma(b0, c0);
        }
        c0.intoMemorySegment(c, cPos * 4, LE, m);
    }
}
