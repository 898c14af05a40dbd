package io.vae4j.pipeline;

import io.vae4j.VaeException;
import io.vae4j.model.Family;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Vae;
import io.vae4j.tensor.Tensor;

/**
 * Where a latent file holds FLUX.2's 2x2-patched latents [B, 128, h/2, w/2] while the model runs on [B, 32, h, w]:
 * a FLUX.2 VAE's diffusion latents (and ComfyUI's FLUX.2 .latent files, which are the same), and TAEF2 given
 * those. The patches come off before the model's shape checks and go on after an encode.
 */
public final class PatchedLatents {
    private PatchedLatents() {
    }

    /**
     * The latent a decode runs on when {@code z} is patched, a new tensor; null when {@code z} is to be taken as it
     * is.
     *
     * @param raw --raw: a FLUX.2 VAE's own, unpatched latent
     */
    public static Tensor unpatch(Object file, Vae vae, Family chosen, boolean raw, Tensor z) {
        LatentSpace own = vae.latentSpace();
        LatentSpace space = null;
        if (own.patched()) {
            space = raw ? null : own;
        } else if (own.family() == Family.TAESD && z.rank() == 4 && z.dim(1) == 4 * vae.latentChannels()) {
            LatentSpace parent = ModelLoader.parentSpace(vae, chosen);
            space = parent.patched() ? parent : null;
        }
        if (space == null) {
            return null;
        }
        try {
            return space.toRaw(z);
        } catch (VaeException e) {
            throw new VaeException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The space whose patches an encode's output gets, or null for none: a FLUX.2 VAE's unless --raw (a ComfyUI
     * .latent is patched even then), TAEF2's parent for a ComfyUI .latent.
     */
    public static LatentSpace forEncode(Vae vae, Family chosen, boolean raw, boolean comfy) {
        LatentSpace own = vae.latentSpace();
        if (own.patched()) {
            return raw && !comfy ? null : own;
        }
        if (own.family() == Family.TAESD && comfy) {
            LatentSpace parent = ModelLoader.parentSpace(vae, chosen);
            return parent.patched() ? parent : null;
        }
        return null;
    }
}
