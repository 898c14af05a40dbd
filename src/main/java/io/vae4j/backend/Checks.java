package io.vae4j.backend;

import io.vae4j.tensor.DType;
import io.vae4j.tensor.Layout;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;

/** Argument checks shared by the backends, so both refuse the same inputs with the same words. */
public final class Checks {
    private Checks() {
    }

    public static void activation(Tensor t, String what) {
        activation(t, what, null);
    }

    /** A float32 activation in NCHW or in {@code blocked}, a backend's own layout (null: NCHW only). */
    public static void activation(Tensor t, String what, Layout blocked) {
        if (t.rank() != 4 || t.dtype() != DType.F32 || t.layout() != Layout.NCHW && t.layout() != blocked) {
            throw new IllegalArgumentException(what + ": expected an NCHW" + (blocked == null ? "" : " or " + blocked)
                    + " float32 activation, got " + t);
        }
    }

    public static void conv(Tensor in, PreparedConv conv, int scale) {
        conv(in, conv, scale, null);
    }

    /** {@link #conv(Tensor, PreparedConv, int)} for a backend that also takes its own {@code blocked} layout. */
    public static void conv(Tensor in, PreparedConv conv, int scale, Layout blocked) {
        activation(in, conv.params().name(), blocked);
        if (in.dim(1) != conv.params().inChannels()) {
            throw new IllegalArgumentException(conv.params().name() + ": expected " + conv.params().inChannels()
                    + " input channels, got " + in);
        }
        ConvGeometry g = conv.params().geometry();
        if (g.outHeight(in.dim(2) * scale) < 1 || g.outWidth(in.dim(3) * scale) < 1) {
            throw new IllegalArgumentException(conv.params().name() + ": input " + in + " is too small");
        }
    }

    public static void sameShape(Tensor a, Tensor b, String what) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(what + ": shapes differ, " + a + " vs " + b);
        }
    }

    /** A convolution's residual, when given, has the convolution's output shape. */
    public static void residual(Tensor residual, int[] outShape, String conv) {
        if (residual != null && !Arrays.equals(residual.shape(), outShape)) {
            throw new IllegalArgumentException(conv + " residual: shapes differ, " + Arrays.toString(outShape)
                    + " vs " + residual);
        }
    }

    public static int[] convOutShape(Tensor in, PreparedConv conv, int scale) {
        ConvGeometry g = conv.params().geometry();
        return new int[]{in.dim(0), conv.params().outChannels(), g.outHeight(in.dim(2) * scale),
                g.outWidth(in.dim(3) * scale)};
    }

    public static void groupNorm(Tensor in, Tensor gamma, Tensor beta, int groups) {
        groupNorm(in, gamma, beta, groups, null);
    }

    /** {@link #groupNorm(Tensor, Tensor, Tensor, int)} for a backend that also takes its own layout. */
    public static void groupNorm(Tensor in, Tensor gamma, Tensor beta, int groups, Layout blocked) {
        activation(in, "group norm", blocked);
        int c = in.dim(1);
        if (groups < 1 || c % groups != 0) {
            throw new IllegalArgumentException("group norm: " + c + " channels do not split into " + groups
                    + " groups");
        }
        if (gamma.numel() != c || beta.numel() != c) {
            throw new IllegalArgumentException("group norm: affine parameters " + gamma + ", " + beta
                    + " do not match " + c + " channels");
        }
    }
}
