package io.vae4j.server;

import io.vae4j.VaeException;
import io.vae4j.model.Family;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model the server holds open, under the name clients select it by.
 *
 * @param family the family given with {@code --family NAME=F}, or null
 */
public record ServedModel(String name, Model model, Family family) {

    Vae vae() {
        return model.vae();
    }

    boolean taesd() {
        return vae().latentSpace().family() == Family.TAESD;
    }

    /**
     * The latent space whose factors a TAESD model's clients mean when they send explicit factors: the full VAE's
     * whose diffusion latents TAESD works on.
     */
    LatentSpace parentSpace() {
        try {
            return ModelLoader.parentSpace(vae().latentChannels(), family);
        } catch (VaeException e) {
            throw new HttpError(400, "model '" + name + "' is a TAESD model with " + vae().latentChannels()
                    + " latent channels and no known parent family, so explicit scaling factors cannot be applied"
                    + " (send the latent in diffusion space without them)");
        }
    }

    /**
     * Runs the model once on a small input (a 32x32 latent, a 256x256 image): each convolution prepares its
     * weights on first use and the JIT compiles the kernels, so the first client's request is not the one to pay.
     */
    public void warmUp() {
        Vae v = vae();
        if (v.canDecode()) {
            try (Tensor z = Tensor.allocate(1, v.latentChannels(), 32, 32); Tensor image = v.decode(z)) {
                image.dim(0);
            }
        }
        if (v.canEncode()) {
            int side = 32 * v.downscale();
            try (Tensor image = Tensor.allocate(1, 3, side, side); Moments m = v.encode(image)) {
                m.mean().dim(0);
            }
        }
    }

    /** What GET /v1/models lists for this model. */
    Map<String, Object> describe(boolean isDefault) {
        Vae v = vae();
        LatentSpace s = v.latentSpace();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", name);
        m.put("name", name);
        m.put("object", "model");
        m.put("architecture", v.info().architecture());
        m.put("family", s.family().id);
        m.put("latent_channels", v.latentChannels());
        m.put("scaling_factor", s.scale());
        m.put("shift_factor", s.shift());
        m.put("downscale", v.downscale());
        m.put("encoder", v.canEncode());
        m.put("decoder", v.canDecode());
        m.put("default", isDefault);
        return m;
    }
}
