package io.vae4j.backend.scalar;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Checks;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.ConvWeightsF32;
import io.vae4j.backend.GroupNormSpec;
import io.vae4j.backend.PreparedConv;
import io.vae4j.tensor.Tensor;

/**
 * The reference twin of every kernel: plain loops, one thread, double accumulators, written to be obviously right
 * rather than fast. Tests hold the fast backends to it.
 */
public final class ScalarBackend implements Backend {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int threads() {
        return 1;
    }

    @Override
    public PreparedConv prepareConv(ConvParams params) {
        return new ConvWeightsF32(params);
    }

    @Override
    public Tensor conv2d(Tensor in, PreparedConv conv, Tensor residual) {
        Checks.conv(in, conv, 1);
        Tensor out = convolve(in, (ConvWeightsF32) conv, 1);
        if (residual != null) {
            Checks.sameShape(out, residual, conv.params().name() + " residual");
            for (long i = 0; i < out.numel(); i++) {
                out.set(i, out.get(i) + residual.get(i));
            }
        }
        return out;
    }

    @Override
    public Tensor upsampleConv2d(Tensor in, PreparedConv conv) {
        Checks.conv(in, conv, 2);
        return convolve(in, (ConvWeightsF32) conv, 2);
    }

    private static Tensor convolve(Tensor in, ConvWeightsF32 w, int upsample) {
        ConvGeometry g = w.params().geometry();
        int[] os = Checks.convOutShape(in, w, upsample);
        int n = os[0], cout = os[1], oh = os[2], ow = os[3];
        int cin = in.dim(1), h = in.dim(2), wd = in.dim(3), k = g.kernel();
        int hu = h * upsample, wu = wd * upsample;
        Tensor out = Tensor.allocate(os);
        Tensor wt = w.weight();
        for (int b = 0; b < n; b++) {
            for (int co = 0; co < cout; co++) {
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = w.bias()[co];
                        for (int ci = 0; ci < cin; ci++) {
                            for (int ky = 0; ky < k; ky++) {
                                int y = oy * g.stride() + ky - g.padTop();
                                if (y < 0 || y >= hu) {
                                    continue;
                                }
                                for (int kx = 0; kx < k; kx++) {
                                    int x = ox * g.stride() + kx - g.padLeft();
                                    if (x < 0 || x >= wu) {
                                        continue;
                                    }
                                    float v = in.get((((long) b * cin + ci) * h + y / upsample) * wd + x / upsample);
                                    acc += (double) v * wt.get((((long) co * cin + ci) * k + ky) * k + kx);
                                }
                            }
                        }
                        out.set((((long) b * cout + co) * oh + oy) * ow + ox, (float) acc);
                    }
                }
            }
        }
        return out;
    }

    @Override
    public Tensor groupNorm(Tensor in, GroupNormSpec norm) {
        Tensor gamma = norm.gamma(), beta = norm.beta();
        int groups = norm.groups();
        float eps = norm.eps();
        boolean silu = norm.silu();
        Checks.groupNorm(in, gamma, beta, groups);
        int n = in.dim(0), c = in.dim(1), cpg = c / groups;
        long plane = (long) in.dim(2) * in.dim(3);
        Tensor out = Tensor.allocate(in.shape());
        for (int b = 0; b < n; b++) {
            for (int g = 0; g < groups; g++) {
                long off = ((long) b * c + (long) g * cpg) * plane, count = cpg * plane;
                if (norm.frozen()) {
                    normalise(in, out, off, plane, g, cpg, norm.mean()[g], norm.rstd()[g], gamma, beta, silu);
                    continue;
                }
                double sum = 0;
                for (long i = 0; i < count; i++) {
                    sum += in.get(off + i);
                }
                double mean = sum / count, sq = 0;
                for (long i = 0; i < count; i++) {
                    double d = in.get(off + i) - mean;
                    sq += d * d;
                }
                double rstd = 1 / Math.sqrt(sq / count + eps);
                normalise(in, out, off, plane, g, cpg, mean, rstd, gamma, beta, silu);
            }
        }
        return out;
    }

    private static void normalise(Tensor in, Tensor out, long off, long plane, int g, int cpg, double mean,
                                  double rstd, Tensor gamma, Tensor beta, boolean silu) {
        for (int ch = 0; ch < cpg; ch++) {
            int channel = g * cpg + ch;
            for (long i = 0; i < plane; i++) {
                long idx = off + ch * plane + i;
                double y = (in.get(idx) - mean) * rstd * gamma.get(channel) + beta.get(channel);
                out.set(idx, (float) (silu ? y / (1 + Math.exp(-y)) : y));
            }
        }
    }

    @Override
    public Tensor upsampleNearest2x(Tensor in) {
        Checks.activation(in, "upsample");
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        Tensor out = Tensor.allocate(n, c, 2 * h, 2 * w);
        for (long p = 0; p < (long) n * c; p++) {
            for (int y = 0; y < 2 * h; y++) {
                for (int x = 0; x < 2 * w; x++) {
                    out.set((p * 2 * h + y) * 2 * w + x, in.get((p * h + y / 2) * w + x / 2));
                }
            }
        }
        return out;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v) {
        Checks.activation(q, "attention q");
        Checks.sameShape(q, k, "attention k");
        Checks.sameShape(q, v, "attention v");
        int n = q.dim(0), c = q.dim(1), t = q.dim(2) * q.dim(3);
        Tensor out = Tensor.allocate(q.shape());
        double scale = 1 / Math.sqrt(c);
        double[] p = new double[t];
        for (int b = 0; b < n; b++) {
            long off = (long) b * c * t;
            for (int i = 0; i < t; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < t; j++) {
                    double s = 0;
                    for (int ch = 0; ch < c; ch++) {
                        s += (double) q.get(off + (long) ch * t + i) * k.get(off + (long) ch * t + j);
                    }
                    p[j] = s * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < t; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int ch = 0; ch < c; ch++) {
                    double o = 0;
                    for (int j = 0; j < t; j++) {
                        o += p[j] * v.get(off + (long) ch * t + j);
                    }
                    out.set(off + (long) ch * t + i, (float) (o / sum));
                }
            }
        }
        return out;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        Checks.sameShape(a, b, "add");
        Tensor out = Tensor.allocate(a.shape());
        for (long i = 0; i < a.numel(); i++) {
            out.set(i, a.get(i) + b.get(i));
        }
        return out;
    }

    @Override
    public Tensor map(Tensor in, Activation activation) {
        Tensor out = Tensor.allocate(in.shape());
        for (long i = 0; i < in.numel(); i++) {
            double x = in.get(i);
            out.set(i, (float) switch (activation) {
                case RELU -> Math.max(x, 0);
                case SILU -> x / (1 + Math.exp(-x));
                case TANH_CLAMP3 -> Math.tanh(x / 3) * 3;
            });
        }
        return out;
    }
}
