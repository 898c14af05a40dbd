package io.vae4j.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Small whole-tensor operations at the API's edges (not kernels: these run once per request). */
public final class Tensors {
    private Tensors() {
    }

    /** [N, a, h, w] ++ [N, b, h, w] along channels, float32. */
    public static Tensor concatChannels(Tensor a, Tensor b) {
        requireNchw(a, "concatenate");
        requireNchw(b, "concatenate");
        if (a.rank() != 4 || b.rank() != 4 || a.dim(0) != b.dim(0) || a.dim(2) != b.dim(2) || a.dim(3) != b.dim(3)
                || a.dtype() != DType.F32 || b.dtype() != DType.F32) {
            throw new IllegalArgumentException("cannot concatenate " + a + " and " + b);
        }
        int n = a.dim(0);
        Tensor out = Tensor.allocate(n, a.dim(1) + b.dim(1), a.dim(2), a.dim(3));
        long pa = a.numel() / Math.max(n, 1) * 4, pb = b.numel() / Math.max(n, 1) * 4;
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(a.data(), i * pa, out.data(), i * (pa + pb), pa);
            MemorySegment.copy(b.data(), i * pb, out.data(), i * (pa + pb) + pa, pb);
        }
        return out;
    }

    /** Channels [from, from+count) of an [N, C, h, w] tensor, as a new float32 tensor. */
    public static Tensor channels(Tensor t, int from, int count) {
        requireNchw(t, "take channels of");
        int n = t.dim(0), c = t.dim(1);
        if (from < 0 || count < 0 || from + count > c) {
            throw new IllegalArgumentException("channels " + from + "+" + count + " of " + Arrays.toString(t.shape()));
        }
        long plane = (long) t.dim(2) * t.dim(3) * 4;
        Tensor out = Tensor.allocate(n, count, t.dim(2), t.dim(3));
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(t.data(), ((long) i * c + from) * plane, out.data(), (long) i * count * plane,
                    count * plane);
        }
        return out;
    }

    /** Rows [y, y+h) and columns [x, x+w) of every channel of an [N, C, H, W] float32 tensor, as a new tensor. */
    public static Tensor crop(Tensor t, int y, int x, int h, int w) {
        requireNchw(t, "crop");
        if (t.rank() != 4 || t.dtype() != DType.F32 || y < 0 || x < 0 || h <= 0 || w <= 0 || y + h > t.dim(2)
                || x + w > t.dim(3)) {
            throw new IllegalArgumentException("cannot crop " + h + "x" + w + " at " + y + "," + x + " from " + t);
        }
        int planes = t.dim(0) * t.dim(1), th = t.dim(2), tw = t.dim(3);
        Tensor out = Tensor.uninitialized(t.dim(0), t.dim(1), h, w);
        for (int p = 0; p < planes; p++) {
            for (int r = 0; r < h; r++) {
                MemorySegment.copy(t.data(), (((long) p * th + y + r) * tw + x) * 4, out.data(),
                        ((long) p * h + r) * w * 4, (long) w * 4);
            }
        }
        return out;
    }

    /** These edge operations address memory in NCHW order: a backend's blocked tensor is converted first. */
    private static void requireNchw(Tensor t, String what) {
        if (t.layout() != Layout.NCHW) {
            throw new IllegalArgumentException("cannot " + what + " a " + t + " (convert it with Backend.toNchw first)");
        }
    }

    /** A float operation on one value. */
    public interface FloatMap {
        float apply(float x);
    }

    /** A new float32 tensor of f applied to every element of t. */
    public static Tensor map(Tensor t, FloatMap f) {
        Tensor out = Tensor.allocate(t.shape());
        for (long i = 0; i < t.numel(); i++) {
            out.set(i, f.apply(t.get(i)));
        }
        return out;
    }
}
