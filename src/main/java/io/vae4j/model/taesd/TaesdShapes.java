package io.vae4j.model.taesd;

import java.util.LinkedHashMap;
import java.util.SequencedMap;
import java.util.function.IntFunction;

/**
 * Every tensor name and shape a TAESD of a given config has, in a given layout: what the graph builder takes. Used
 * for random-weight models of the real sizes (benchmarks, tests).
 */
public final class TaesdShapes {
    private TaesdShapes() {
    }

    /** The configuration of a released model with both halves. */
    public static TaesdConfig config(TaesdVariant variant) {
        return switch (variant) {
            case TAESD -> new TaesdConfig(4, false, false, true, true);
            case TAESD3 -> new TaesdConfig(16, false, false, true, true);
            case TAEF2 -> new TaesdConfig(32, false, true, true, true);
            case TAESANA -> new TaesdConfig(32, true, false, true, true);
            case CUSTOM -> throw new IllegalArgumentException("no released model is " + variant);
        };
    }

    /** The original taesd.py names of one half, as in {@code taesd_encoder.pth} or {@code taesd_decoder.pth}. */
    public static SequencedMap<String, int[]> encoder(TaesdConfig c) {
        return of(new TaesdConfig(c.latentChannels(), c.f32(), c.midblockGn(), true, false),
                new TaesdLayout("encoder file", "", null, 0));
    }

    public static SequencedMap<String, int[]> decoder(TaesdConfig c) {
        return of(new TaesdConfig(c.latentChannels(), c.f32(), c.midblockGn(), false, true),
                new TaesdLayout("decoder file", null, "", 0));
    }

    /** Both halves (those the config has) named as {@code layout} names them. */
    public static SequencedMap<String, int[]> of(TaesdConfig c, TaesdLayout layout) {
        SequencedMap<String, int[]> shapes = new LinkedHashMap<>();
        if (c.hasEncoder()) {
            for (TaesdArch.Module m : TaesdArch.encoder(c)) {
                add(shapes, m, layout::encoderModule);
            }
        }
        if (c.hasDecoder()) {
            for (TaesdArch.Module m : TaesdArch.decoder(c)) {
                add(shapes, m, layout::decoderModule);
            }
        }
        return shapes;
    }

    private static void add(SequencedMap<String, int[]> s, TaesdArch.Module module, IntFunction<String> modules) {
        String n = modules.apply(module.index()) + ".";
        switch (module) {
            case TaesdArch.Conv c -> {
                s.put(n + "weight", new int[]{c.out(), c.in(), 3, 3});
                if (c.bias()) {
                    s.put(n + "bias", new int[]{c.out()});
                }
            }
            case TaesdArch.Block b -> {
                int[] in = {b.in(), b.out(), b.out()};
                for (int k = 0; k < 3; k++) {
                    s.put(n + "conv." + 2 * k + ".weight", new int[]{b.out(), in[k], 3, 3});
                    s.put(n + "conv." + 2 * k + ".bias", new int[]{b.out()});
                }
                if (b.in() != b.out()) {
                    s.put(n + "skip.weight", new int[]{b.out(), b.in(), 1, 1});
                }
                if (b.pool()) {
                    int p = TaesdArch.poolWidth(b.in());
                    s.put(n + "pool.0.weight", new int[]{p, b.in(), 1, 1});
                    s.put(n + "pool.1.weight", new int[]{p});
                    s.put(n + "pool.1.bias", new int[]{p});
                    s.put(n + "pool.3.weight", new int[]{b.in(), p, 1, 1});
                }
            }
            case TaesdArch.Relu _ -> {
            }
            case TaesdArch.Clamp _ -> {
            }
            case TaesdArch.Upsample _ -> {
            }
        }
    }
}
