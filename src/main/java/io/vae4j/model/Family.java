package io.vae4j.model;

import java.util.Locale;

/**
 * A model family: which latent space a model's latents live in, and the factors that map the VAE's raw latents to
 * the diffusion model's: diffusion = (raw - shift) · scale, raw = diffusion / scale + shift.
 */
public enum Family {
    SD1("sd1", 4, 0.18215, 0),
    SD2("sd2", 4, 0.18215, 0),
    SDXL("sdxl", 4, 0.13025, 0),
    SD3("sd3", 16, 1.5305, 0.0609),
    FLUX1("flux1", 16, 0.3611, 0.1159),
    /**
     * FLUX.2: no scalar factors; its diffusion latents are the raw ones in 2x2 patches normalised by the VAE's own
     * BatchNorm statistics ({@link Flux2Normalisation}), which {@link LatentSpace} carries.
     */
    FLUX2("flux2", 32, 1, 0),
    /** A KL autoencoder whose latent channel count matches no known family: factors 1 and 0. */
    OTHER("other", -1, 1, 0),
    /**
     * The TAESD tiny autoencoders, of any latent channel count: they take and give the diffusion model's latents as
     * they are, factors 1 and 0. Not a --family choice.
     */
    TAESD("taesd", -1, 1, 0);

    public final String id;
    public final int latentChannels;
    public final double scale;
    public final double shift;

    Family(String id, int latentChannels, double scale, double shift) {
        this.id = id;
        this.latentChannels = latentChannels;
        this.scale = scale;
        this.shift = shift;
    }

    public static Family parse(String s) {
        for (Family f : values()) {
            if (f.id.equals(s.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        return null;
    }

    /** Known ids, for error messages. */
    public static String ids() {
        return "sd1, sd2, sdxl, sd3, flux1, flux2";
    }

    /** The family a latent of this many channels most likely belongs to, for error messages. */
    public static String guessFromChannels(int channels) {
        return switch (channels) {
            case 4 -> "SD1/SD2/SDXL";
            case 16 -> "SD3/FLUX.1";
            case 32 -> "FLUX.2";
            case 128 -> "FLUX.2 in 2x2 patches";
            default -> "no known family";
        };
    }
}
