package io.vae4j.backend.vector;

import java.lang.foreign.MemorySegment;

/**
 * Someone else's batched matrix product for the 36 per-point products of a bf16 Winograd F(4x4) convolution.
 * Java has no bf16 dot product (README, "Precision"), so the Vector API backend does the transforms in float32 and
 * hands the products to a library that has one (oneDNN's AVX512_BF16 matmul).
 */
public interface WinogradProducts {
    /**
     * m[b][i][j] = Σ_k u[b][i][k] · v[b][k][j] for b &lt; batch, every array dense and row-major: u [batch][rows][inner]
     * and v [batch][inner][cols] bfloat16, m [batch][rows][cols] float32 (accumulated in float32). Thread-safe: concurrent
     * convolutions may call it at once.
     */
    void multiplyBf16(int batch, int rows, int inner, int cols, MemorySegment u, MemorySegment v, MemorySegment m);
}
