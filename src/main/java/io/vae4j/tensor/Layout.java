package io.vae4j.tensor;

/**
 * How a 4-d activation's elements are ordered in memory. The API's edges are always {@link #NCHW}; a backend may
 * keep its own blocked layout between layers, so kernels check the layout they are given instead of assuming it.
 */
public enum Layout {
    /** Batch, channel, row, column; the PyTorch order and the order of every file we read or write. */
    NCHW(1),
    /**
     * oneDNN's nChw8c: [N][C / 8][H][W][8], the 8 channels of a pixel side by side (one AVX2 vector). Only for
     * channel counts that are a multiple of 8, so it holds exactly the elements NCHW would, with no padding.
     */
    NCHW8C(8),
    /** oneDNN's nChw16c: [N][C / 16][H][W][16] (one AVX-512 vector a pixel), for multiples of 16 channels. */
    NCHW16C(16);

    private final int block;

    Layout(int block) {
        this.block = block;
    }

    /** Channels stored together for each pixel (1 for NCHW). */
    public int block() {
        return block;
    }

    /** Whether a tensor of {@code channels} channels can be held in this layout (no padded channels). */
    public boolean holds(int channels) {
        return channels % block == 0;
    }

    /** The channel-blocked layout whose block is {@code channels} wide, or null when there is none. */
    public static Layout blocked(int channels) {
        return switch (channels) {
            case 8 -> NCHW8C;
            case 16 -> NCHW16C;
            default -> null;
        };
    }

    /**
     * Float index of element (n, c, y, x) of an [N, C, H, W] tensor in this layout: the definition, element by
     * element, that tests hold the block-at-a-time kernels ({@code BlockedKernels}) to.
     */
    public long index(int[] shape, int n, int c, int y, int x) {
        long plane = (long) shape[2] * shape[3];
        if (block == 1) {
            return ((long) n * shape[1] + c) * plane + (long) y * shape[3] + x;
        }
        long blockIndex = (long) n * (shape[1] / block) + c / block;
        return (blockIndex * plane + (long) y * shape[3] + x) * block + c % block;
    }
}
