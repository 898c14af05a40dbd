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
            LatentSpace space = familySpace(m);
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
            LatentSpace space = familySpace(m);
            return space::toDiffusion;
        }
        return null;
    }

    /**
     * The model's own latent space for do_scaling. FLUX.2's is no scaling but a normalisation of 2x2 patches, which
     * changes the latent's shape; the server takes and gives FLUX.2's raw latents only.
     */
    private static LatentSpace familySpace(ServedModel m) {
        LatentSpace space = m.vae().latentSpace();
        if (space.patched()) {
            throw new HttpError(400, "model '" + m.name() + "' is a FLUX.2 VAE, whose diffusion latents are 2x2"
                    + " patches normalised per channel rather than scaled; send and expect its raw [B, "
                    + m.vae().latentChannels() + ", h, w] latents, without do_scaling");
        }
        return space;
    }
}
