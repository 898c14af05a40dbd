package io.vae4j.model.consistency;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.GroupNormSpec;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The consistency decoder's UNet (diffusers UNet2DModel with ResnetDownsampleBlock2D / ResnetUpsampleBlock2D
 * blocks, a two-block mid, no attention), run at one of the schedule's steps. Down path: conv_in, then per level
 * its residual blocks and (but the last level) a downsampling residual block, every output kept as a skip; mid; up
 * path: per level, blocks that each take [h, the latest skip] concatenated on channels, then (but the last) an
 * upsampling block; GroupNorm+SiLU, conv_out.
 */
final class ConsistencyUnet {
    private final UnetConfig config;
    private final Conv convIn;
    private final List<UnetResnet> down = new ArrayList<>();
    /** The mid blocks, then the up path's, each marked with whether it first takes a skip. */
    private final List<Step> after = new ArrayList<>();
    private final GroupNormSpec normOut;
    private final Conv convOut;
    private final long timeParameters;

    /** @param w the UNet's tensors, without the {@code decoder_unet.} prefix */
    ConsistencyUnet(Backend b, WeightSet w, UnetConfig c, ConsistencySchedule schedule) {
        this.config = c;
        TimeEmbedding time = new TimeEmbedding(w, c.trainSteps(), c.levelChannels()[0]);
        float[][] emb = new float[schedule.size()][];
        for (int s = 0; s < emb.length; s++) {
            emb[s] = TimeEmbedding.silu(time.at(schedule.step(s).timestep()));
        }
        timeParameters = time.parameters();
        time.close();
        int[] ch = c.levelChannels();
        int levels = c.levels(), groups = c.groups();
        float eps = c.eps();
        convIn = new Conv(b, w, "conv_in", c.inChannels(), ch[0], ConvGeometry.same3x3());
        int in = ch[0];
        for (int i = 0; i < levels; i++) {
            for (int j = 0; j < c.layersPerBlock(); j++) {
                down.add(new UnetResnet(b, w, "down_blocks." + i + ".resnets." + j, in, ch[i],
                        UnetResnet.Resample.NONE, groups, eps, emb));
                in = ch[i];
            }
            if (i < levels - 1) {
                down.add(new UnetResnet(b, w, "down_blocks." + i + ".downsamplers.0", in, in,
                        UnetResnet.Resample.DOWN, groups, eps, emb));
            }
        }
        for (int j = 0; j < 2; j++) {
            after.add(new Step(new UnetResnet(b, w, "mid_block.resnets." + j, in, in, UnetResnet.Resample.NONE,
                    groups, eps, emb), false));
        }
        // The skips, in the order the up path takes them back: their channel counts.
        Deque<Integer> skips = new ArrayDeque<>();
        skips.push(ch[0]);
        for (int i = 0; i < levels; i++) {
            for (int j = 0; j < c.layersPerBlock() + (i < levels - 1 ? 1 : 0); j++) {
                skips.push(ch[i]);
            }
        }
        for (int i = 0; i < levels; i++) {
            int out = ch[levels - 1 - i];
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                after.add(new Step(new UnetResnet(b, w, "up_blocks." + i + ".resnets." + j, in + skips.pop(), out,
                        UnetResnet.Resample.NONE, groups, eps, emb), true));
                in = out;
            }
            if (i < levels - 1) {
                after.add(new Step(new UnetResnet(b, w, "up_blocks." + i + ".upsamplers.0", in, in,
                        UnetResnet.Resample.UP, groups, eps, emb), false));
            }
        }
        normOut = new GroupNormSpec(w.take("conv_norm_out.weight", in).copyF32(),
                w.take("conv_norm_out.bias", in).copyF32(), groups, eps, true);
        convOut = new Conv(b, w, "conv_out", in, c.outChannels(), ConvGeometry.same3x3());
    }

    UnetConfig config() {
        return config;
    }

    /** The UNet on x [N, inChannels, H, W] at schedule step {@code step}: [N, outChannels, H, W], in NCHW. */
    Tensor forward(Backend b, Tensor x, int step) {
        Deque<Tensor> skips = new ArrayDeque<>();
        Tensor h = null;
        boolean owned = false;
        try {
            h = convIn.forward(b, x);
            skips.push(h);
            for (UnetResnet block : down) {
                h = block.forward(b, h, step);
                skips.push(h);
            }
            for (Step s : after) {
                Tensor cat = null;
                if (s.takesSkip()) {
                    try (Tensor skip = skips.pop()) {
                        cat = concat(b, h, skip);
                    }
                }
                Tensor next;
                try {
                    next = s.block().forward(b, cat != null ? cat : h, step);
                } finally {
                    if (cat != null) {
                        cat.close();
                    }
                    if (owned) {
                        h.close();
                    }
                }
                h = next;
                owned = true;
            }
            return b.toNchwConsuming(convOut.forward(b, h, normOut, null));
        } finally {
            if (owned) {
                h.close();
            }
            skips.forEach(Tensor::close);
        }
    }

    /** Multiply-accumulates of one {@link #forward} on an input of this shape. */
    long macs(int[] in) {
        long sum = convIn.macs(in);
        int[] shape = convIn.outShape(in);
        Deque<int[]> skips = new ArrayDeque<>();
        skips.push(shape);
        for (UnetResnet block : down) {
            sum += block.macs(shape);
            shape = block.outShape(shape);
            skips.push(shape);
        }
        for (Step s : after) {
            if (s.takesSkip()) {
                shape = new int[]{shape[0], shape[1] + skips.pop()[1], shape[2], shape[3]};
            }
            sum += s.block().macs(shape);
            shape = s.block().outShape(shape);
        }
        return sum + convOut.macs(shape);
    }

    long parameters() {
        long sum = timeParameters + convIn.parameters() + convOut.parameters() + 2L * normOut.gamma().numel();
        for (UnetResnet block : down) {
            sum += block.parameters();
        }
        for (Step s : after) {
            sum += s.block().parameters();
        }
        return sum;
    }

    void close() {
        convIn.close();
        down.forEach(UnetResnet::close);
        after.forEach(s -> s.block().close());
        normOut.gamma().close();
        normOut.beta().close();
        convOut.close();
    }

    private static Tensor concat(Backend b, Tensor h, Tensor skip) {
        Tensor a = b.toNchw(h), s = b.toNchw(skip);
        try {
            return Tensors.concatChannels(a, s);
        } finally {
            if (a != h) {
                a.close();
            }
            if (s != skip) {
                s.close();
            }
        }
    }

    private record Step(UnetResnet block, boolean takesSkip) {
    }
}
