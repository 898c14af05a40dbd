package io.vae4j.model;

import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;

/**
 * Which diffusion latent space a model's latents are in, and how that was decided. diffusion = (raw - shift) ·
 * scale; raw = diffusion / scale + shift. FLUX.2 has no scalar factors (1 and 0) but a per-channel normalisation of
 * 2x2-patched latents, {@code patches}.
 *
 * @param source  how the family was decided: "config.json", "--family", or "assumed: why"
 * @param patches FLUX.2's patching and normalisation, or null for the scalar families
 */
public record LatentSpace(Family family, double scale, double shift, String source, Flux2Normalisation patches) {

    public LatentSpace(Family family, double scale, double shift, String source) {
        this(family, scale, shift, source, null);
    }

    public static LatentSpace of(Family f, String source) {
        return new LatentSpace(f, f.scale, f.shift, source);
    }

    public float toRaw(float diffusion) {
        return (float) (diffusion / scale + shift);
    }

    public float toDiffusion(float raw) {
        return (float) ((raw - shift) * scale);
    }

    /** Whether diffusion latents are the raw ones in 2x2 patches ([B, 4C, h/2, w/2]), as FLUX.2's are. */
    public boolean patched() {
        return patches != null;
    }

    /** A diffusion latent as a new float32 raw latent: the factors applied, or for FLUX.2 unpatched. */
    public Tensor toRaw(Tensor diffusion) {
        if (patches != null) {
            return patches.toRaw(diffusion);
        }
        return Tensors.map(diffusion, this::toRaw);
    }

    /** A raw latent as a new float32 diffusion latent: the factors applied, or for FLUX.2 patched. */
    public Tensor toDiffusion(Tensor raw) {
        if (patches != null) {
            return patches.toDiffusion(raw);
        }
        return Tensors.map(raw, this::toDiffusion);
    }

    public String describe() {
        String factors = patches != null
                ? (patches.hasStatistics() ? "2x2 patches normalised by the VAE's BatchNorm statistics"
                : "2x2 patches, no statistics")
                : "scale " + scale + (shift != 0 ? ", shift " + shift : "");
        return family.id + " (" + factors + "; " + source + ")";
    }
}
