package io.vae4j.model;

/**
 * Which diffusion latent space a model's latents are in, and how that was decided. diffusion = (raw - shift) ·
 * scale; raw = diffusion / scale + shift.
 *
 * @param source how the family was decided: "config.json", "--family", or "assumed: why"
 */
public record LatentSpace(Family family, double scale, double shift, String source) {

    public static LatentSpace of(Family f, String source) {
        return new LatentSpace(f, f.scale, f.shift, source);
    }

    public float toRaw(float diffusion) {
        return (float) (diffusion / scale + shift);
    }

    public float toDiffusion(float raw) {
        return (float) ((raw - shift) * scale);
    }

    public String describe() {
        return family.id + " (scale " + scale + (shift != 0 ? ", shift " + shift : "") + "; " + source + ")";
    }
}
