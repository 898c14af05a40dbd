package io.vae4j.backend.vector;

import io.vae4j.backend.ConvParams;
import io.vae4j.backend.ConvWeightsF32;
import io.vae4j.backend.Parallel;
import io.vae4j.backend.PreparedCache;
import io.vae4j.backend.PreparedConv;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;

/**
 * A convolution prepared for the Vector API backend, with the algorithm it runs by (direct or a Winograd tile),
 * chosen once here. Its weight form is made on first use, so a model used only to decode never pays for its
 * encoder's: float32 weights for the direct path (the memory-mapped tensor itself when the file holds float32; a
 * widened copy for F16/BF16) in RAM, or the Winograd transform (16/9 or 36/9 of the weights by tile, made straight
 * from the stored dtype). The transform is cached in RAM, except inside a whole-image run's scratch scope (exact
 * mode, memory first): there it is kept in the scratch space, made once per space, since the F(4x4) transforms
 * held in RAM are 4x the weights (771 MB for the SD decoder). Outside a scratch run it comes from the on-disk
 * {@link PreparedCache} when that holds it, and a one-pass run ({@link io.vae4j.backend.OnePass}) frees it after use.
 */
final class VectorConv implements PreparedConv {
    /** -Dvae4j.winograd.upsampled=false runs upsampling convolutions as F(4x4, 3x3) on the upsampled planes. */
    private static final boolean UPSAMPLED = !"false".equals(System.getProperty("vae4j.winograd.upsampled"));
    private final ConvParams params;
    private final VectorBackend.Winograd tile;
    /**
     * Whether its Winograd products run in bf16 on oneDNN's matmul ({@link Winograd4x4Bf16}, or
     * {@link Winograd4x4UpsampleBf16} on an upsampled input), its transform rounded to bf16.
     */
    private final boolean bf16;
    private final float[] bias;
    private volatile ConvWeightsF32 direct;
    /** The float32 weights in 8-row panels, for the packed micro-kernel (1x1 and direct convolutions). */
    private volatile Tensor panels;
    private volatile Tensor winograd;
    /** The transform of {@link Winograd4x4Upsample}, for a convolution that runs on nearest-upsampled input. */
    private volatile Tensor upsampled;
    /** {@link #sourceDigest()}, once made. */
    private byte[] digest;

    /** A key of this convolution's transform in a scratch space (a record, so that no two convolutions meet). */
    private record Transform(VectorConv conv, boolean upsampled) {
    }

    VectorConv(ConvParams params, VectorBackend.Winograd tile, boolean bf16) {
        if (bf16 && tile != VectorBackend.Winograd.F4X4) {
            throw new IllegalArgumentException(params.name() + ": bf16 products run on F(4x4) tiles only, not " + tile);
        }
        this.params = params;
        this.tile = tile;
        this.bf16 = bf16;
        this.bias = params.biasValues();
    }

    @Override
    public ConvParams params() {
        return params;
    }

    /** How this convolution runs: {@link VectorBackend.Winograd#OFF} for the direct paths. */
    VectorBackend.Winograd tile() {
        return tile;
    }

    boolean bf16() {
        return bf16;
    }

    float[] bias() {
        return bias;
    }

    /** Float32 [out][in·k·k] weights for the direct paths. */
    Tensor weight() {
        ConvWeightsF32 w = direct;
        if (w == null) {
            synchronized (this) {
                w = direct;
                if (w == null) {
                    direct = w = ScratchSpace.inRam(() -> new ConvWeightsF32(params));
                }
            }
        }
        return w.weight();
    }

    /** The float32 weights in 8-row panels ([out / 8][in·k·k][8]), made on first use. */
    Tensor panels() {
        Tensor p = panels;
        if (p == null) {
            synchronized (this) {
                p = panels;
                if (p == null) {
                    Tensor w = weight();
                    int k = params.geometry().kernel();
                    int out = params.outChannels(), in = params.inChannels() * k * k;
                    panels = p = ScratchSpace.inRam(() -> {
                        Tensor packed = Tensor.uninitialized(out, in);
                        for (int o = 0; o < out; o++) {
                            for (int ci = 0; ci < in; ci++) {
                                packed.data().set(DType.FLOAT, GemmKernel.panelIndex(o, ci, in) * 4,
                                        w.get((long) o * in + ci));
                            }
                        }
                        return packed;
                    });
                }
            }
        }
        return p;
    }

    /**
     * Whether this convolution runs on a nearest-2x-upsampled input by {@link Winograd4x4Upsample} (F(4x4) with a
     * multiple of 8 output channels; {@link Winograd4x4UpsampleBf16} in bf16), with its own transform
     * ({@link #winograd}).
     */
    boolean upsampledWinograd() {
        return upsampledWinograd(tile, params.outChannels());
    }

    /** {@link #upsampledWinograd()} for a convolution of this tile and output channels. */
    static boolean upsampledWinograd(VectorBackend.Winograd tile, int out) {
        return UPSAMPLED && (tile == VectorBackend.Winograd.F4X4 || tile == VectorBackend.Winograd.F6X6)
                && Winograd4x4Upsample.applies(out);
    }

    /**
     * The Winograd transform of {@link #tile()} (with {@code upsampled}, the one {@link Winograd4x4Upsample}
     * reads), owned by this convolution or by the scratch space in force (the caller never closes it): the one kept
     * in that space when there is one, else the one cached in RAM. Made, when it is not yet, on {@code parallel}'s
     * threads: call it from the thread that runs the convolution, never from inside one of that Parallel's tasks.
     */
    Tensor winograd(boolean upsampled, Parallel parallel) {
        Tensor u = upsampled ? this.upsampled : winograd;
        if (u != null) {
            return u;
        }
        // Not from the disk cache: a scratch run's space accounts for and trims the memory its transforms take.
        Tensor kept = ScratchSpace.kept(new Transform(this, upsampled), () -> make(upsampled, parallel));
        if (kept != null) {
            return kept;
        }
        synchronized (this) {
            u = upsampled ? this.upsampled : winograd;
            if (u == null) {
                u = ScratchSpace.inRam(() -> transform(upsampled, parallel));
                if (upsampled) {
                    this.upsampled = u;
                } else {
                    winograd = u;
                }
            }
        }
        return u;
    }

    /** Whether {@code u} is the transform cached in RAM (for tests). */
    boolean cachedInRam(Tensor u) {
        return u != null && (u == winograd || u == upsampled);
    }

    /**
     * The transform from the on-disk cache ({@link PreparedCache}) when it holds one, else made (and stored there).
     * Its bytes depend on the tile, the precision of the products and the micro-kernel's panel shape.
     */
    private Tensor transform(boolean upsampled, Parallel parallel) {
        String form = "java winograd " + tile + (upsampled ? " upsampled" : "") + (bf16 ? " bf16" : " fp32")
                + " vector " + GemmKernel.SPECIES.length() + " panel " + GemmKernel.MR + "x" + GemmKernel.NR;
        return PreparedCache.get(form, this::sourceDigest, () -> make(upsampled, parallel));
    }

    /** The SHA-256 of the weights, made once (a convolution may have two transforms). */
    private synchronized byte[] sourceDigest() {
        if (digest == null) {
            digest = PreparedCache.digest(params.weight());
        }
        return digest;
    }

    /**
     * Drops the transform cached in RAM (or unmaps the one mapped from the disk cache), for a run that will not
     * use this convolution again ({@link io.vae4j.backend.OnePass}); a later call makes or maps it anew.
     */
    synchronized void release(boolean upsampled) {
        Tensor u = upsampled ? this.upsampled : winograd;
        if (u != null) {
            if (upsampled) {
                this.upsampled = null;
            } else {
                winograd = null;
            }
            u.close();
        }
    }

    private Tensor make(boolean upsampled, Parallel parallel) {
        if (upsampled) {
            return bf16 ? Winograd4x4UpsampleBf16.transformWeights(params.weight(), parallel)
                    : Winograd4x4Upsample.transformWeights(params.weight(), parallel);
        }
        if (bf16) {
            // oneDNN's matmul reads each product's weights as a plain row-major [out][in] matrix.
            try (Tensor u = Winograd4x4.transformWeights(params.weight(), false, parallel)) {
                return Winograd4x4Bf16.toBf16(u);
            }
        }
        return switch (tile) {
            case F4X4 -> Winograd4x4.transformWeights(params.weight(), parallel);
            case F6X6 -> Winograd6x6.transformWeights(params.weight(), parallel);
            case F2X2 -> Winograd2x2.transformWeights(params.weight());
            case OFF -> throw new IllegalStateException(params.name() + " runs without Winograd");
        };
    }

    @Override
    public synchronized void close() {
        if (direct != null) {
            direct.close();
            direct = null;
        }
        if (winograd != null) {
            winograd.close();
            winograd = null;
        }
        if (upsampled != null) {
            upsampled.close();
            upsampled = null;
        }
        if (panels != null) {
            panels.close();
            panels = null;
        }
    }
}
