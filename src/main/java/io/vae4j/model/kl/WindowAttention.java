package io.vae4j.model.kl;

import io.vae4j.backend.Backend;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * Attention within non-overlapping windows: the image is cut into a grid of near-equal windows no larger than
 * {@code edge}² pixels (equal cuts, so no sliver of a window attends over a handful of pixels), and each window's
 * pixels attend only to each other. Cost is linear in the pixel count instead of quadratic.
 */
final class WindowAttention {
    private WindowAttention() {
    }

    static Tensor run(Backend b, Tensor q, Tensor k, Tensor v, int edge) {
        int h = q.dim(2), w = q.dim(3);
        if (h <= edge && w <= edge) {
            return b.attention(q, k, v);
        }
        Tensor qn = b.toNchw(q), kn = b.toNchw(k), vn = b.toNchw(v);
        try {
            return windows(b, qn, kn, vn, edge);
        } finally {
            for (Tensor[] pair : new Tensor[][]{{qn, q}, {kn, k}, {vn, v}}) {
                if (pair[0] != pair[1]) {
                    pair[0].close();
                }
            }
        }
    }

    /** run for NCHW q, k, v (the crops read their memory). */
    private static Tensor windows(Backend b, Tensor q, Tensor k, Tensor v, int edge) {
        int h = q.dim(2), w = q.dim(3);
        Tensor out = Tensor.uninitialized(q.shape());
        int rows = ceilDiv(h, edge), cols = ceilDiv(w, edge);
        try {
            for (int r = 0; r < rows; r++) {
                int y0 = h * r / rows, y1 = h * (r + 1) / rows;
                for (int c = 0; c < cols; c++) {
                    int x0 = w * c / cols, x1 = w * (c + 1) / cols;
                    try (Tensor qw = crop(q, y0, y1, x0, x1); Tensor kw = crop(k, y0, y1, x0, x1);
                         Tensor vw = crop(v, y0, y1, x0, x1); Tensor a = b.attention(qw, kw, vw)) {
                        paste(a, out, y0, x0);
                    }
                }
            }
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    private static Tensor crop(Tensor t, int y0, int y1, int x0, int x1) {
        int n = t.dim(0), c = t.dim(1), h = t.dim(2), w = t.dim(3), ww = x1 - x0;
        Tensor out = Tensor.uninitialized(n, c, y1 - y0, ww);
        for (long plane = 0; plane < (long) n * c; plane++) {
            for (int y = y0; y < y1; y++) {
                MemorySegment.copy(t.data(), ((plane * h + y) * w + x0) * 4, out.data(),
                        ((plane * (y1 - y0) + y - y0) * ww) * 4, ww * 4L);
            }
        }
        return out;
    }

    private static void paste(Tensor window, Tensor into, int y0, int x0) {
        int n = into.dim(0), c = into.dim(1), h = into.dim(2), w = into.dim(3);
        int wh = window.dim(2), ww = window.dim(3);
        for (long plane = 0; plane < (long) n * c; plane++) {
            for (int y = 0; y < wh; y++) {
                MemorySegment.copy(window.data(), ((plane * wh + y) * ww) * 4, into.data(),
                        ((plane * h + y0 + y) * w + x0) * 4, ww * 4L);
            }
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
