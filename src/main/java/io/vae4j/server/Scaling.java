package io.vae4j.server;

import io.vae4j.model.LatentSpace;
import io.vae4j.pipeline.Latents.FloatUnaryOperator;

/**
 * The latent scaling a client asked for, with the meaning diffusers' remote-VAE client gives it: explicit
 * {@code scaling_factor} (and {@code shift_factor}, 0 when absent): diffusion = (raw - shift) · scale; no factor
 * but {@code do_scaling=True}: the model family's factors; neither: the latent is raw.
 *
 * <p>TAESD models take the diffusion model's latents as they are (their own factors are 1 and 0), so for them
 * {@code do_scaling} and no scaling both pass the latent through, and explicit factors are taken as the full VAE's
 * (x / scale + shift is its raw latent, which the parent family's factors map back to diffusion space).
 *
 * @param scale explicit factor, or null
 */
record Scaling(Double scale, double shift, boolean family) {

    static Scaling of(Query q) {
        Double scale = q.number("scaling_factor");
        Double shift = q.number("shift_factor");
        if (scale != null && scale == 0) {
            throw new HttpError(400, "query parameter 'scaling_factor' must not be 0");
        }
        return new Scaling(scale, shift == null ? 0 : shift, scale == null && q.bool("do_scaling", false));
    }

    /** Wire latent to the model's input, or null when nothing changes. */
    FloatUnaryOperator decodeInput(ServedModel m) {
        if (scale != null) {
            double s = scale, b = shift;
            if (m.taesd()) {
                LatentSpace parent = m.parentSpace();
                return x -> parent.toDiffusion((float) (x / s + b));
            }
            return x -> (float) (x / s + b);
        }
        if (family && !m.taesd()) {
            LatentSpace space = m.vae().latentSpace();
            return space::toRaw;
        }
        return null;
    }

    /** Model's posterior mean to the wire latent, or null when nothing changes. */
    FloatUnaryOperator encodeOutput(ServedModel m) {
        if (scale != null) {
            double s = scale, b = shift;
            if (m.taesd()) {
                LatentSpace parent = m.parentSpace();
                return x -> (float) ((parent.toRaw(x) - b) * s);
            }
            return x -> (float) ((x - b) * s);
        }
        if (family && !m.taesd()) {
            LatentSpace space = m.vae().latentSpace();
            return space::toDiffusion;
        }
        return null;
    }
}
