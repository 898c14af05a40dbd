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
 */
final class WinogradBands {
    static final int TILES = GemmKernel.NR;

    private WinogradBands() {
    }

    /** One block of tiles: the TILES tiles from flat index f0 of band p (planes in pl), output channels [o0, o1). */
    interface Block {
        void run(ConvPlanes p, MemorySegment pl, long[] tap, long f0, int o0, int o1);
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
                int blocks = (int) VectorBackend.ceilDiv(p.flatOut(), TILES);
                int groups = blocks >= 4 * parallel.threads() ? 1
                        : Math.max(1, Math.min(VectorBackend.ceilDiv(4 * parallel.threads(), blocks), cout / 8));
                int groupSize = VectorBackend.roundUp(VectorBackend.ceilDiv(cout, groups), 8);
                parallel.forEach(blocks * groups, task -> {
                    int o0 = (task % groups) * groupSize, o1 = Math.min(cout, o0 + groupSize);
                    if (o0 < o1) {
                        block.run(p, pl, tap, (long) (task / groups) * TILES, o0, o1);
                    }
                });
                ScratchSpace.checkpoint();
            }
        }
    }
}
