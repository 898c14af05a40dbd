package io.vae4j.model.kl;

/**
 * The most floats alive at once in a whole-image run of the graph {@link KlGraph} builds, found by walking its
 * layers with the tensors each one holds while it makes its output (the Vector API backend's kernels: GroupNorm
 * fused into 3x3 convolutions, attention with three transposed copies of its operands). The run's input stays
 * alive throughout, as the caller holds it; so do the weight transforms the run keeps in scratch, each made when
 * its convolution first runs, and counted here from the block that runs it on.
 */
final class KlLiveSet {
    /**
     * Floats a whole-image run keeps for a stride-1 3x3 convolution of in to out channels (its transform), which may
     * run on a nearest-upsampled input.
     */
    interface Kept {
        long floats(int in, int out, boolean upsampled);

        Kept NONE = (in, out, upsampled) -> 0;
    }

    private final KlConfig c;
    private final Kept kept;
    /** Floats of the transforms made so far. */
    private long transforms;
    private long peak;

    KlLiveSet(KlConfig c, Kept kept) {
        this.c = c;
        this.kept = kept;
    }

    /** Floats alive at the peak of decoding a latent of h x w. */
    long decode(long h, long w) {
        int[] ch = c.levelChannels();
        int z = c.latentChannels();
        long held = z * h * w;
        long area = h * w;
        if (c.postQuantConv()) {
            peak(held, 2L * z * area);
            held += z * area;
        }
        int in = ch[c.levels() - 1];
        conv3x3(z, in, false);
        peak(held, in * area);
        mid(held, in, area, c.decoderMidAttention());
        for (int i = c.levels() - 1; i >= 0; i--) {
            for (int j = 0; j <= c.numResBlocks(); j++) {
                resnet(held, in, ch[i], area);
                in = ch[i];
            }
            if (i != 0) {
                conv3x3(in, in, true);
                peak(held, in * area + in * area * 4);
                area *= 4;
            }
        }
        conv3x3(in, c.imageChannels(), false);
        peak(held, in * area + (long) c.imageChannels() * area);
        return peak;
    }

    /** Floats alive at the peak of encoding an image of h x w. */
    long encode(long h, long w) {
        int[] ch = c.levelChannels();
        long held = (long) c.imageChannels() * h * w;
        conv3x3(c.imageChannels(), ch[0], false);
        peak(held, ch[0] * h * w);
        int in = ch[0];
        for (int i = 0; i < c.levels(); i++) {
            for (int j = 0; j < c.numResBlocks(); j++) {
                resnet(held, in, ch[i], h * w);
                in = ch[i];
            }
            if (i != c.levels() - 1) {
                long before = h * w;
                h /= 2;
                w /= 2;
                peak(held, in * before + in * h * w);
            }
        }
        mid(held, in, h * w, c.encoderMidAttention());
        long moments = 2L * c.latentChannels() * h * w;
        conv3x3(in, 2 * c.latentChannels(), false);
        peak(held, in * h * w + moments);
        if (c.quantConv()) {
            peak(held, 2 * moments);
        }
        // Splitting into mean and logvar copies them out while the moments are alive.
        peak(held, 2 * moments);
        return peak;
    }

    private void mid(long held, int ch, long area, boolean attention) {
        resnet(held, ch, ch, area);
        if (attention) {
            // Input, normalised input, q, k, v, the output and attention's three transposed copies.
            peak(held, 9L * ch * area);
        }
        resnet(held, ch, ch, area);
    }

    /** Input, first convolution's output, the shortcut when channels change, and the block's output. */
    private void resnet(long held, int in, int out, long area) {
        conv3x3(in, out, false);
        conv3x3(out, out, false);
        peak(held, in * area + (in == out ? 2L : 3L) * out * area);
    }

    /** A stride-1 3x3 convolution runs: its transform, if the run keeps one, is alive from now on. */
    private void conv3x3(int in, int out, boolean upsampled) {
        transforms += kept.floats(in, out, upsampled);
    }

    private void peak(long held, long layer) {
        peak = Math.max(peak, held + transforms + layer);
    }
}
