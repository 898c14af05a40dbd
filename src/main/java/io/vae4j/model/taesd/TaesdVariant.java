package io.vae4j.model.taesd;

/**
 * The released TAESD models, told apart by their tensors alone. TAESD and TAESDXL (and TAESD3 and TAEF1) have
 * identical shapes; only the latents they were trained on differ.
 */
public enum TaesdVariant {
    TAESD("taesd/taesdxl", "SD1/SD2/SDXL"),
    TAESD3("taesd3/taef1", "SD3/FLUX.1"),
    TAEF2("taef2", "FLUX.2"),
    TAESANA("taesana", "Sana"),
    /** A TAESD-shaped model with a latent channel count no released one has. */
    CUSTOM("taesd-like", "an unknown diffusion model");

    /** Short name, as in the weight files' names. */
    public final String id;
    /** Whose diffusion latents it encodes and decodes. */
    public final String latentsOf;

    TaesdVariant(String id, String latentsOf) {
        this.id = id;
        this.latentsOf = latentsOf;
    }

    static TaesdVariant of(TaesdConfig c) {
        if (c.f32()) {
            return c.latentChannels() == 32 && !c.midblockGn() ? TAESANA : CUSTOM;
        }
        if (c.midblockGn()) {
            return c.latentChannels() == 32 ? TAEF2 : CUSTOM;
        }
        return switch (c.latentChannels()) {
            case 4 -> TAESD;
            case 16 -> TAESD3;
            default -> CUSTOM;
        };
    }
}
