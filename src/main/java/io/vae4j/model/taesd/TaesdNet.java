package io.vae4j.model.taesd;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.Layer;
import io.vae4j.model.nn.Sequential;
import io.vae4j.model.nn.Upsample;
import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * One TAESD network (encoder or decoder) as a flat layer list built from {@link TaesdArch}'s modules; each nearest
 * upsample is fused with the convolution after it. Remembers where the upsampling stages start, for previews and
 * for decoding windows of a larger latent.
 */
final class TaesdNet implements Layer {
    private final List<Layer> layers;
    /** Positions in {@link #layers} of the fused upsample convolutions, in order. */
    private final int[] upsamples;
    /**
     * margins[k]: pixels of context, at the resolution of upsampling stage k's input, that the layers from that
     * upsample to the output read around each output pixel (margins[upsamples.length] is 0, the output itself);
     * null for a network with strided convolutions (an encoder), which has no windowed run.
     */
    private final int[] margins;
    /** Latent pixels of context the whole network reads around each output pixel; 0 when margins is null. */
    private final int receptiveField;

    private TaesdNet(List<Layer> layers, int[] upsamples, int[] reach) {
        this.layers = List.copyOf(layers);
        this.upsamples = upsamples;
        int[] m = reach == null ? null : new int[upsamples.length + 1];
        int field = 0;
        if (m != null) {
            // Walking back from the output: a 3x3 convolution reads one more pixel each way; a nearest 2x
            // upsample halves the context, rounded up, as output pixels 2i and 2i+1 both come from input pixel i.
            int k = upsamples.length;
            for (int i = layers.size() - 1; i >= 0; i--) {
                field += reach[i];
                if (k > 0 && upsamples[k - 1] == i) {
                    field = (field + 1) / 2;
                    m[--k] = field;
                }
            }
        }
        this.margins = m;
        this.receptiveField = field;
    }

    static TaesdNet build(Backend b, WeightSet w, List<TaesdArch.Module> modules, IntFunction<String> names) {
        List<Layer> layers = new ArrayList<>();
        List<Integer> upsamples = new ArrayList<>();
        List<Integer> reach = new ArrayList<>();
        boolean strided = false;
        boolean upsampleNext = false;
        try {
            for (TaesdArch.Module m : modules) {
                int i = m.index();
                switch (m) {
                    case TaesdArch.Conv c -> {
                        ConvGeometry g = c.stride() == 1 ? ConvGeometry.same3x3() : ConvGeometry.strided3x3();
                        Conv conv = new Conv(b, w, names.apply(i), c.in(), c.out(), g, c.bias());
                        strided |= c.stride() != 1;
                        reach.add(1);
                        if (upsampleNext) {
                            upsamples.add(layers.size());
                            layers.add(new Upsample(conv));
                            upsampleNext = false;
                        } else {
                            layers.add(conv);
                        }
                    }
                    case TaesdArch.Block k -> {
                        layers.add(new Block(b, w, names.apply(i), k.in(), k.out(), k.pool()));
                        reach.add(Block.REACH);
                    }
                    case TaesdArch.Relu _ -> {
                        layers.add(Elementwise.RELU);
                        reach.add(0);
                    }
                    case TaesdArch.Clamp _ -> {
                        layers.add(Elementwise.CLAMP);
                        reach.add(0);
                    }
                    case TaesdArch.Upsample _ -> upsampleNext = true;
                }
            }
        } catch (RuntimeException | Error e) {
            layers.forEach(Layer::close);
            throw e;
        }
        return new TaesdNet(layers, upsamples.stream().mapToInt(Integer::intValue).toArray(),
                strided ? null : reach.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Latent pixels of context each output pixel depends on, each way (19 for the 8x decoders). */
    int receptiveField() {
        return receptiveField;
    }

    /**
     * Context kept around the core at each resolution of a windowed run, in that resolution's pixels: entry k is
     * stage k's (the latent's for k = 0), the last entry the output's, 0.
     */
    int[] windowMargins() {
        if (margins == null) {
            throw new IllegalStateException("a network with strided convolutions has no windowed run");
        }
        return margins.clone();
    }

    /**
     * The output of {@code window}'s core only, from x, the window's input region. Before each upsampling the
     * activation is cropped to the core plus the context the remaining layers read (clamped to the whole image,
     * where the zero padding is the untiled run's own): the high-resolution stages, which hold nearly all the
     * work and memory, then run on little more than the core, however wide the halo the low-resolution layers
     * needed. Every kept pixel sees the same inputs as in the untiled run, so the core comes out the same.
     */
    Tensor forwardWindow(Backend backend, Tensor x, DecodeWindow window) {
        int[] m = windowMargins();
        int y0 = window.inputY(), x0 = window.inputX();
        if (x.rank() != 4 || y0 + x.dim(2) > window.height() || x0 + x.dim(3) > window.width()
                || window.coreY() + window.coreHeight() > y0 + x.dim(2)
                || window.coreX() + window.coreWidth() > x0 + x.dim(3)) {
            throw new IllegalArgumentException(x + " does not hold the input region of " + window);
        }
        Tensor h = x;
        int from = 0;
        try {
            for (int k = 0; k <= upsamples.length; k++) {
                int scale = 1 << k;
                if (k > 0) {
                    y0 *= 2;
                    x0 *= 2;
                }
                int to = k < upsamples.length ? upsamples[k] : layers.size();
                Tensor next = Sequential.run(backend, h, layers.subList(from, to));
                if (h != x) {
                    h.close();
                }
                h = next;
                from = to;
                int ky = Math.max(y0, window.coreY() * scale - m[k]);
                int kx = Math.max(x0, window.coreX() * scale - m[k]);
                int ky1 = Math.min(Math.min(y0 + h.dim(2), window.height() * scale),
                        (window.coreY() + window.coreHeight()) * scale + m[k]);
                int kx1 = Math.min(Math.min(x0 + h.dim(3), window.width() * scale),
                        (window.coreX() + window.coreWidth()) * scale + m[k]);
                if (ky != y0 || kx != x0 || ky1 - ky != h.dim(2) || kx1 - kx != h.dim(3)) {
                    h = backend.toNchwConsuming(h);
                    Tensor kept = Tensors.crop(h, ky - y0, kx - x0, ky1 - ky, kx1 - kx);
                    h.close();
                    h = kept;
                    y0 = ky;
                    x0 = kx;
                }
            }
            Tensor out = h;
            h = x;
            return out;
        } finally {
            if (h != x) {
                h.close();
            }
        }
    }

    /** How many 2x upsampling stages the network has. */
    int upsamplingStages() {
        return upsamples.length;
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return Sequential.run(backend, x, layers);
    }

    @Override
    public long macs(int[] in) {
        return Sequential.macs(layers, in);
    }

    @Override
    public int[] outShape(int[] in) {
        return Sequential.outShape(layers, in);
    }

    /**
     * The decoder with its last {@code stages} nearest upsamplings left out: every layer still runs, those after
     * the first skipped upsampling at 1/2^stages of their usual resolution, so the output convolution to RGB sees
     * the features it was trained on, at a smaller size. (Cutting the stages off instead, and running the output
     * convolution on the features of the last stage kept, gives no usable image: about 10 dB against the full
     * decode, where this gives 28-35 dB at half size on taef2.)
     */
    Tensor preview(Backend backend, Tensor x, int stages) {
        if (stages < 0 || stages > upsamples.length) {
            throw new IllegalArgumentException(stages + " of " + upsamples.length + " upsampling stages");
        }
        List<Layer> kept = new ArrayList<>(layers);
        for (int i = upsamples.length - stages; i < upsamples.length; i++) {
            kept.set(upsamples[i], ((Upsample) layers.get(upsamples[i])).withoutUpsampling());
        }
        return Sequential.run(backend, x, kept);
    }

    @Override
    public long parameters() {
        return layers.stream().mapToLong(Layer::parameters).sum();
    }

    @Override
    public void close() {
        layers.forEach(Layer::close);
    }
}
