package io.vae4j.backend.vector;

import io.vae4j.backend.ConvParams;
import io.vae4j.backend.ConvWeightsF32;
import io.vae4j.backend.PreparedConv;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;

/**
 * A convolution prepared for the Vector API backend. Both weight forms are made on first use, so a model used only
 * to decode never pays for its encoder's, and a convolution pays only for the form it runs with: float32 weights
 * for the direct path (the memory-mapped tensor itself when the file holds float32; a widened copy for F16/BF16)
 * or their Winograd transform (16/9 or 36/9 of the weights by tile, made straight from the stored dtype). Both in
 * RAM, also when first used inside a whole-image run's scratch scope: they outlive it.
 */
final class VectorConv implements PreparedConv {
    private final ConvParams params;
    private final float[] bias;
    private volatile ConvWeightsF32 direct;
    private volatile Tensor winograd2x2;
    private volatile Tensor winograd4x4;
    private volatile Tensor winograd4x4Bf16;

    VectorConv(ConvParams params) {
        this.params = params;
        this.bias = params.biasValues();
    }

    @Override
    public ConvParams params() {
        return params;
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

    Tensor winograd2x2() {
        Tensor u = winograd2x2;
        if (u == null) {
            synchronized (this) {
                u = winograd2x2;
                if (u == null) {
                    winograd2x2 = u = ScratchSpace.inRam(() -> Winograd2x2.transformWeights(params.weight()));
                }
            }
        }
        return u;
    }

    Tensor winograd4x4() {
        Tensor u = winograd4x4;
        if (u == null) {
            synchronized (this) {
                u = winograd4x4;
                if (u == null) {
                    winograd4x4 = u = ScratchSpace.inRam(() -> Winograd4x4.transformWeights(params.weight()));
                }
            }
        }
        return u;
    }

    /** The F(4x4) transform rounded to bf16 for {@link Winograd4x4Bf16} (half the float32 one's size). */
    Tensor winograd4x4Bf16() {
        Tensor u = winograd4x4Bf16;
        if (u == null) {
            synchronized (this) {
                u = winograd4x4Bf16;
                if (u == null) {
                    winograd4x4Bf16 = u = ScratchSpace.inRam(this::bf16Transform);
                }
            }
        }
        return u;
    }

    /** As {@link #winogradForCall}, for the bf16 transform. */
    Tensor winogradBf16ForCall() {
        if (winograd4x4Bf16 != null || !ScratchSpace.inScope()) {
            return winograd4x4Bf16();
        }
        return ScratchSpace.inRam(this::bf16Transform);
    }

    private Tensor bf16Transform() {
        // oneDNN's matmul reads each product's weights as a plain row-major [out][in] matrix.
        try (Tensor u = Winograd4x4.transformWeights(params.weight(), false)) {
            return Winograd4x4Bf16.toBf16(u);
        }
    }

    /**
     * The Winograd transform for one call: the cached one where it exists; else, inside a scratch run (exact
     * mode, memory first), a fresh one the caller closes, since caching F(4x4) transforms keeps 4x the weights
     * resident (about 790 MB for the SD decoder); else the cached one, made now.
     */
    Tensor winogradForCall(boolean f4x4) {
        Tensor cached = f4x4 ? winograd4x4 : winograd2x2;
        if (cached != null || !ScratchSpace.inScope()) {
            return f4x4 ? winograd4x4() : winograd2x2();
        }
        return ScratchSpace.inRam(() -> f4x4 ? Winograd4x4.transformWeights(params.weight())
                : Winograd2x2.transformWeights(params.weight()));
    }

    /** Whether {@code u} is this convolution's cached transform (else the caller made it for one call). */
    boolean cached(Tensor u) {
        return u == winograd4x4 || u == winograd2x2 || u == winograd4x4Bf16;
    }

    @Override
    public synchronized void close() {
        if (direct != null) {
            direct.close();
            direct = null;
        }
        if (winograd2x2 != null) {
            winograd2x2.close();
            winograd2x2 = null;
        }
        if (winograd4x4 != null) {
            winograd4x4.close();
            winograd4x4 = null;
        }
        if (winograd4x4Bf16 != null) {
            winograd4x4Bf16.close();
            winograd4x4Bf16 = null;
        }
    }
}
