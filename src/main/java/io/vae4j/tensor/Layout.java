package io.vae4j.tensor;

/**
 * How a 4-d activation's elements are ordered in memory. The API's edges are always {@link #NCHW}; a backend may
 * keep its own blocked layout between layers, so kernels check the layout they are given instead of assuming it.
 */
public enum Layout {
    /** Batch, channel, row, column; the PyTorch order and the order of every file we read or write. */
    NCHW
}
