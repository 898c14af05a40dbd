package io.vae4j.backend.onednn;

import io.vae4j.VaeException;
import io.vae4j.backend.vector.WinogradProducts;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Winograd products of the Vector API backend's bf16 mode on oneDNN's matmul (AVX512_BF16 dot products): one
 * primitive per product shape, made at first use and kept until {@link #close()}; each call borrows a stream and
 * scratchpad, and runs on {@code threads} OpenMP threads of the calling thread.
 */
public final class OneDnnProducts implements WinogradProducts, AutoCloseable {
    private record Shape(boolean bf16, int batch, int m, int k, int n) {
    }

    private final int threads;
    private final MemorySegment engine;
    private final ConcurrentHashMap<Shape, OneDnnMatmul> matmuls = new ConcurrentHashMap<>();
    private final ExecContexts contexts;
    private final boolean verbose = Boolean.getBoolean("vae4j.onednn.verbose");

    public OneDnnProducts(int threads) {
        if (!OneDnn.available()) {
            throw new VaeException("oneDNN is not available: " + OneDnn.unavailableReason());
        }
        this.threads = threads;
        this.engine = OneDnn.engine();
        this.contexts = new ExecContexts(engine, "oneDNN products");
    }

    @Override
    public void multiplyBf16(int batch, int rows, int inner, int cols, MemorySegment u, MemorySegment v,
                             MemorySegment m) {
        multiply(true, batch, rows, inner, cols, u, v, m);
    }

    /** As {@link #multiplyBf16}, or with float32 u and v when {@code bf16} is false (for comparisons). */
    public void multiply(boolean bf16, int batch, int rows, int inner, int cols, MemorySegment u, MemorySegment v,
                         MemorySegment m) {
        ExecContext ctx = contexts.borrow();
        OneDnn.limitThreads(threads);
        OneDnnMatmul mm = matmuls.computeIfAbsent(new Shape(bf16, batch, rows, inner, cols), s -> {
            OneDnnMatmul made = new OneDnnMatmul(engine, s.bf16, s.batch, s.m, s.k, s.n);
            if (verbose) {
                System.err.println("vae4j: onednn " + made.what() + ": " + made.impl());
            }
            return made;
        });
        try {
            mm.run(ctx, u, v, m);
        } finally {
            contexts.giveBack(ctx);
        }
    }

    /** The implementation of each primitive made so far, for logs and probes. */
    public List<String> implementations() {
        return matmuls.values().stream().map(mm -> mm.what() + ": " + mm.impl()).sorted().toList();
    }

    @Override
    public void close() {
        if (contexts.closed()) {
            return;
        }
        contexts.close();
        matmuls.values().forEach(OneDnnMatmul::close);
        matmuls.clear();
    }
}
