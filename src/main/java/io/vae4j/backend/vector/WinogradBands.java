package io.vae4j.backend.vector;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.Parallel;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The band loop every float32 Winograd kernel runs on ({@link Winograd2x2}, {@link Winograd4x4},
 * {@link Winograd4x4Upsample}): the input's (m + 2)-wide tiles at stride m are read from stride-m phase planes
 * ({@link ConvPlanes}), made band by band of tile rows; in each band the planes are filled (one task per input
 * channel, the channel's GroupNorm applied on the way), then blocks of {@link GemmKernel#NR} tiles go out as tasks,
 * each block cut into groups of output channels as well when there are too few blocks to keep every thread busy.
 *
 * <p>A block is {@code NR / L} vectors of L tiles ({@link #vectorStarts}). Where tile rows are a multiple of L
 * tiles wide (every SD size) each vector is L tiles of one tile row, so its output is whole stretches of pixel
 * rows, written from registers, and the planes' junk column (the one tile past each row) is never computed; blocks
 * running on along the planes' flat index straddled tile rows in 1 of 8 vectors at 512x512 and in nearly all at
 * 64x64, each such vector stored lane run by lane run.
 */
final class WinogradBands {
    static final int TILES = GemmKernel.NR;

    private WinogradBands() {
    }

    /**
     * One block of tiles of band p (planes in pl), output channels [o0, o1): vector k's L tiles are those from flat
     * index starts[k] on ({@link #vectorStarts}), or there is no vector k when starts[k] is negative (in the band's
     * last block).
     */
    interface Block {
        void run(ConvPlanes p, MemorySegment pl, long[] tap, long[] starts, int o0, int o1);
    }

    /**
     * The flat index of the first tile of every vector of L tiles of band p: L consecutive tiles of one tile row
     * when the row's vectors end within the row's one junk column (rows of kL or kL - 1 tiles), else vectors on
     * along the flat index, across rows (other widths: row-aligned vectors would compute up to L - 2 junk tiles
     * a row).
     */
    static long[] vectorStarts(ConvPlanes p, int tilesX) {
        int l = GemmKernel.L, perRow = (int) VectorBackend.ceilDiv(tilesX, l);
        if ((long) perRow * l > p.wq) {
            long[] starts = new long[(int) VectorBackend.ceilDiv(p.flatOut(), l)];
            for (int v = 0; v < starts.length; v++) {
                starts[v] = (long) v * l;
            }
            return starts;
        }
        long[] starts = new long[p.outRows * perRow];
        for (int v = 0; v < starts.length; v++) {
            starts[v] = (long) (v / perRow) * p.wq + (long) (v % perRow) * l;
        }
        return starts;
    }

    /**
     * How many of a block's vectors are there: those before the first negative start. Counted without a branch, and
     * the output loops run to it rather than skip the missing ones: only a band's last block has any, so a test on
     * each vector was one C2 had never seen fail when it compiled the loop (an SD decode's 128x128 upsampling
     * convolution compiled it, the 256x256 one met its band's last block, and the deoptimised output transform ran
     * on C1's code for 2.3 s until it was compiled again).
     */
    static int present(long[] starts) {
        int n = 0;
        for (long start : starts) {
            n += (int) (~start >>> 63);
        }
        return n;
    }

    /** Where a vector reads its tiles: its start, or the band's first tile for a vector that is not there. */
    static long readAt(long start) {
        return Math.max(0, start);
    }

    /**
     * Runs {@code block} over every block of the m x m output tiles of a gridH x gridW output grid of image
     * n of {@code in} (nearest-upsampled by {@code upsample} first), with {@code cout} output channels.
     */
    static void run(Parallel parallel, Tensor in, int n, int m, int gridH, int gridW, int upsample, int cout,
                    ChannelNorm[] norm, Block block) {
        int cin = in.dim(1), h = in.dim(2), w = in.dim(3);
        int tilesY = (gridH + m - 1) / m, tilesX = (gridW + m - 1) / m;
        ConvGeometry g = ConvPlanes.winogradTiles(m, gridH, gridW);
        long inOff = (long) n * cin * h * w;
        ConvPlanes first = new ConvPlanes(g, cin, h, w, upsample, 0,
                VectorBackend.bandRows((long) m * m * cin, tilesX + 1, tilesY));
        try (Tensor planes = VectorBackend.bandBuffer(first.floats + TILES)) {
            MemorySegment pl = planes.data();
            for (int ty0 = 0; ty0 < tilesY; ty0 += first.outRows) {
                ConvPlanes p = ty0 == 0 ? first : new ConvPlanes(g, cin, h, w, upsample, ty0, first.outRows);
                pl.asSlice(p.filled * 4).fill((byte) 0);
                parallel.forEach(cin, ci -> p.fill(in.data(), inOff, ci, pl, norm == null ? null : norm[ci]));
                long[] tap = p.tileTaps();
                long[] all = vectorStarts(p, tilesX);
                int perBlock = TILES / GemmKernel.L;
                int blocks = (int) VectorBackend.ceilDiv(all.length, perBlock);
                int groups = blocks >= 4 * parallel.threads() ? 1
                        : Math.max(1, Math.min(VectorBackend.ceilDiv(4 * parallel.threads(), blocks), cout / 8));
                int groupSize = VectorBackend.roundUp(VectorBackend.ceilDiv(cout, groups), 8);
                parallel.forEach(blocks * groups, task -> {
                    int o0 = (task % groups) * groupSize, o1 = Math.min(cout, o0 + groupSize);
                    if (o0 < o1) {
                        long[] starts = new long[perBlock];
                        for (int k = 0; k < perBlock; k++) {
                            int vi = (task / groups) * perBlock + k;
                            starts[k] = vi < all.length ? all[vi] : -1;
                        }
                        block.run(p, pl, tap, starts, o0, o1);
                    }
                });
                ScratchSpace.checkpoint();
            }
        }
    }
}
