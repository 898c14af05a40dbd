package io.vae4j.model.kl;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.AttentionMode;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.GroupNorm;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.Work;

/**
 * The mid-block's single-head self-attention over pixels: x + proj_out(attention(q, k, v of norm(x))), over the
 * whole image or within windows, or skipped, per the {@link AttentionMode} in force.
 */
public final class AttnBlock implements Layer {
    private final GroupNorm norm;
    private final Conv q;
    private final Conv k;
    private final Conv v;
    private final Conv proj;

    public AttnBlock(Backend b, WeightSet w, String name, int c) {
        norm = new GroupNorm(w, name + ".norm", c, KlConfig.GROUPS, KlConfig.EPS, false);
        q = new Conv(b, w, name + ".q", c, c, ConvGeometry.pointwise());
        k = new Conv(b, w, name + ".k", c, c, ConvGeometry.pointwise());
        v = new Conv(b, w, name + ".v", c, c, ConvGeometry.pointwise());
        proj = new Conv(b, w, name + ".proj_out", c, c, ConvGeometry.pointwise());
    }

    @Override
    public long macs(int[] in) {
        if (AttentionMode.current() == AttentionMode.OFF) {
            return 0;
        }
        return q.macs(in) + k.macs(in) + v.macs(in) + proj.macs(in) + attentionMacs(in);
    }

    /** Scores and weighted values: 2·N²·C per image, or 2·N·W²·C in windows of W² pixels. */
    private static long attentionMacs(int[] in) {
        long n = (long) in[2] * in[3];
        long keys = AttentionMode.current() == AttentionMode.TILED
                ? Math.min(n, (long) AttentionMode.WINDOW * AttentionMode.WINDOW) : n;
        return 2L * in[0] * n * keys * in[1];
    }

    @Override
    public Tensor forward(Backend b, Tensor x) {
        AttentionMode mode = AttentionMode.current();
        if (mode == AttentionMode.OFF) {
            // A copy, not x itself: the caller frees its input once this layer returns.
            return x.copyF32();
        }
        Tensor a;
        try (Tensor h = norm.forward(b, x);
             Tensor qt = q.forward(b, h); Tensor kt = k.forward(b, h); Tensor vt = v.forward(b, h)) {
            a = mode == AttentionMode.TILED ? WindowAttention.run(b, qt, kt, vt, AttentionMode.WINDOW)
                    : b.attention(qt, kt, vt);
            Work.done(attentionMacs(x.shape()));
        }
        try (a) {
            return proj.forward(b, a, x);
        }
    }

    @Override
    public long parameters() {
        return norm.parameters() + q.parameters() + k.parameters() + v.parameters() + proj.parameters();
    }

    @Override
    public void close() {
        norm.close();
        q.close();
        k.close();
        v.close();
        proj.close();
    }
}
