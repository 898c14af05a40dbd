package io.vae4j.pipeline;

import io.vae4j.model.LatentSpace;
import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;

/** Element-wise latent scaling between diffusion space and a VAE's raw space: tiny next to any decode. */
public final class Latents {
    private Latents() {
    }

    /** A float operation on one value. */
    public interface FloatUnaryOperator {
        float apply(float x);
    }

    /** A new float32 tensor of f applied to every element of z. */
    public static Tensor map(Tensor z, FloatUnaryOperator f) {
        return Tensors.map(z, f::apply);
    }

    /** f applied to every element of float32 tensor z, in place. */
    public static void mapInPlace(Tensor z, FloatUnaryOperator f) {
        for (long i = 0; i < z.numel(); i++) {
            z.set(i, f.apply(z.get(i)));
        }
    }

    /** Whether a latent space's factors change nothing (scale 1, shift 0). */
    public static boolean isIdentity(LatentSpace space) {
        return space.scale() == 1 && space.shift() == 0 && !space.patched();
    }
}
