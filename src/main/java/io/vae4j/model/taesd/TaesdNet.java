package io.vae4j.model.taesd;

import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.Layer;
import io.vae4j.model.nn.Sequential;
import io.vae4j.model.nn.Upsample;
import io.vae4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * One TAESD network (encoder or decoder) as a flat layer list built from {@link TaesdArch}'s modules; each nearest
 * upsample is fused with the convolution after it. Remembers where the upsampling stages start, for previews.
 */
final class TaesdNet implements Layer {
    private final List<Layer> layers;
    /** Positions in {@link #layers} of the fused upsample convolutions, in order. */
    private final int[] upsamples;

    private TaesdNet(List<Layer> layers, int[] upsamples) {
        this.layers = List.copyOf(layers);
        this.upsamples = upsamples;
    }

    static TaesdNet build(Backend b, WeightSet w, List<TaesdArch.Module> modules, IntFunction<String> names) {
        List<Layer> layers = new ArrayList<>();
        List<Integer> upsamples = new ArrayList<>();
        boolean upsampleNext = false;
        try {
            for (TaesdArch.Module m : modules) {
                int i = m.index();
                switch (m) {
                    case TaesdArch.Conv c -> {
                        ConvGeometry g = c.stride() == 1 ? ConvGeometry.same3x3() : ConvGeometry.strided3x3();
                        Conv conv = new Conv(b, w, names.apply(i), c.in(), c.out(), g, c.bias());
                        if (upsampleNext) {
                            upsamples.add(layers.size());
                            layers.add(new Upsample(conv));
                            upsampleNext = false;
                        } else {
                            layers.add(conv);
                        }
                    }
                    case TaesdArch.Block k -> layers.add(new Block(b, w, names.apply(i), k.in(), k.out(),
                            k.pool()));
                    case TaesdArch.Relu _ -> layers.add(Elementwise.RELU);
                    case TaesdArch.Clamp _ -> layers.add(Elementwise.CLAMP);
                    case TaesdArch.Upsample _ -> upsampleNext = true;
                }
            }
        } catch (RuntimeException | Error e) {
            layers.forEach(Layer::close);
            throw e;
        }
        return new TaesdNet(layers, upsamples.stream().mapToInt(Integer::intValue).toArray());
    }

    /** How many 2x upsampling stages the network has. */
    int upsamplingStages() {
        return upsamples.length;
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return Sequential.run(backend, x, layers);
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
