package io.vae4j.model.svd;

import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The two views of a batch of videos. The spatial layers see frames, [B·T, C, H, W] (frame t of video b at index
 * b·T + t); the temporal layers see videos, [B, C, T, H·W], where a backend's GroupNorm of one batch item spans one
 * video's (C/groups, T, H, W), and a 3-tall convolution reaches the neighbouring frames. Both NCHW float32; only rows
 * of H·W values move.
 */
final class VideoLayout {
    private VideoLayout() {
    }

    /** Frames [B·T, C, H, W] to videos [B, C, T, H·W]. */
    static Tensor toVideo(Tensor frames, int t) {
        int n = frames.dim(0), c = frames.dim(1);
        int plane = frames.dim(2) * frames.dim(3), b = n / t;
        Tensor out = Tensor.uninitialized(b, c, t, plane);
        move(frames, out, b, t, c, plane, true);
        return out;
    }

    /** Videos [B, C, T, H·W] back to frames [B·T, C, H, W]. */
    static Tensor toFrames(Tensor videos, int h, int w) {
        int b = videos.dim(0), c = videos.dim(1), t = videos.dim(2);
        Tensor out = Tensor.uninitialized(b * t, c, h, w);
        move(videos, out, b, t, c, h * w, false);
        return out;
    }

    private static void move(Tensor from, Tensor to, int b, int t, int c, int plane, boolean toVideo) {
        MemorySegment src = from.data(), dst = to.data();
        long row = (long) plane * 4;
        for (int v = 0; v < b; v++) {
            for (int f = 0; f < t; f++) {
                for (int ch = 0; ch < c; ch++) {
                    long frameRow = ((long) (v * t + f) * c + ch) * row;
                    long videoRow = (((long) v * c + ch) * t + f) * row;
                    MemorySegment.copy(src, toVideo ? frameRow : videoRow, dst, toVideo ? videoRow : frameRow, row);
                }
            }
        }
    }
}
