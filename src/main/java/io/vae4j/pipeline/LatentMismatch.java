package io.vae4j.pipeline;

import io.vae4j.model.Family;
import io.vae4j.model.LatentSpace;
import io.vae4j.tensor.Tensor;

import java.util.Locale;

/**
 * Tells when a 4-channel latent clearly belongs to SD1/SD2 while the model decodes SDXL's latent space, or the other
 * way round: the two have the same shapes, and a latent of one decoded as the other comes out washed out without a
 * word. The latent's per-channel means and standard deviations are scored against each family's published latent
 * statistics, as Gaussians, and a warning is given only when another family fits better by a clear margin.
 *
 * <p>Each family's statistics are in its diffusion space (raw latent times its scaling factor):
 * <ul>
 *   <li>SD1/SD2: OpenAI's consistency decoder standardises SD1 latents (raw · 0.18215) with per-channel means
 *   0.38862467, 0.02253063, 0.07381133, -0.0171294 and stds 0.9654121, 1.0440036, 0.76147926, 0.77022034
 *   (github.com/openai/consistencydecoder, consistencydecoder/__init__.py, ldm_transform_latent; the same in
 *   diffusers' ConsistencyDecoderVAE).</li>
 *   <li>SDXL: Playground v2.5, which uses the SDXL VAE, normalises its raw latents with per-channel means -1.6574,
 *   1.886, -1.383, 2.5155 and stds 8.4927, 5.9022, 6.5498, 5.2299 (playground-v2.5-1024px-aesthetic vae/config.json
 *   latents_mean/latents_std; ComfyUI's latent_formats.SDXL_Playground_2_5); times 0.13025 here.</li>
 * </ul>
 * A latent may have been given raw where scaled was meant, or scaled by the other family's factor, so each family's
 * statistics are fitted with the overall factor that suits the latent best: only the pattern across the channels
 * decides, never the scale. Between the two families' own statistics that pattern differs by about 0.12 nats per
 * value; a standard normal latent (the fixtures') is 0.04 from either.
 */
public final class LatentMismatch {
    /** Nats per latent value by which another family must fit better. */
    static final double MARGIN = 0.1;
    /** Fewer latent pixels (a 128x128 image) say too little about a family to warn. */
    static final long MIN_PIXELS = 256;

    private record Statistics(String name, Family family, double scale, double[] mean, double[] std) {
    }

    private static final Statistics SD1 = new Statistics("SD1/SD2", Family.SD1, Family.SD1.scale,
            new double[]{0.38862467, 0.02253063, 0.07381133, -0.0171294},
            new double[]{0.9654121, 1.0440036, 0.76147926, 0.77022034});
    private static final Statistics SDXL = new Statistics("SDXL", Family.SDXL, Family.SDXL.scale,
            scaled(new double[]{-1.6574, 1.886, -1.383, 2.5155}, Family.SDXL.scale),
            scaled(new double[]{8.4927, 5.9022, 6.5498, 5.2299}, Family.SDXL.scale));

    private LatentMismatch() {
    }

    /**
     * A warning naming the family a latent likely belongs to and how that was decided, or null when it fits the
     * model's family or nothing clearly.
     *
     * @param space the model's latent space
     * @param raw   the latent as the model takes it (its factors already undone)
     */
    public static String check(LatentSpace space, Tensor raw) {
        Statistics own = switch (space.family()) {
            case SD1, SD2 -> SD1;
            case SDXL -> SDXL;
            default -> null;
        };
        if (own == null || raw.rank() != 4 || raw.dim(1) != 4
                || (long) raw.dim(0) * raw.dim(2) * raw.dim(3) < MIN_PIXELS) {
            return null;
        }
        Statistics other = own == SD1 ? SDXL : SD1;
        double[] mean = new double[4], std = new double[4];
        moments(raw, mean, std);
        double ownFit = bestFit(own, mean, std), otherFit = bestFit(other, mean, std);
        if (ownFit - otherFit <= MARGIN) {
            return null;
        }
        double[] m = scaled(mean, space.scale()), s = scaled(std, space.scale());
        return String.format(Locale.ROOT, "this latent looks like %s's, but the model decodes %s latents (family %s):"
                        + " its per-channel means %s and standard deviations %s (at the model's factor %s) fit %s's"
                        + " published latent statistics better than %s's by %.2f nats per value; decode it with an %s"
                        + " VAE (or pass --family if the model is one)", other.name, own.name, space.family().id,
                list(m), list(s), space.scale(), other.name, own.name, ownFit - otherFit, other.name);
    }

    /**
     * The lowest mean negative log-likelihood per value of the latent's moments under a family's statistics times
     * any overall factor k (searched from e^-8 to e^8): however the latent was scaled on its way to the model, only
     * the pattern of its channels counts.
     */
    private static double bestFit(Statistics f, double[] mean, double[] std) {
        double best = Double.POSITIVE_INFINITY;
        for (double t = -8; t <= 8; t += 0.01) {
            double k = Math.exp(t);
            double nll = 0;
            for (int c = 0; c < 4; c++) {
                double mu = f.mean[c] * k, sigma = f.std[c] * k, d = mean[c] - mu;
                nll += Math.log(sigma) + (std[c] * std[c] + d * d) / (2 * sigma * sigma);
            }
            best = Math.min(best, nll / 4);
        }
        return best;
    }

    private static void moments(Tensor z, double[] mean, double[] std) {
        int n = z.dim(0), c = z.dim(1);
        long plane = (long) z.dim(2) * z.dim(3);
        for (int ch = 0; ch < c; ch++) {
            double sum = 0, sq = 0;
            for (int b = 0; b < n; b++) {
                long base = ((long) b * c + ch) * plane;
                for (long i = 0; i < plane; i++) {
                    double v = z.get(base + i);
                    sum += v;
                    sq += v * v;
                }
            }
            double count = (double) n * plane;
            mean[ch] = sum / count;
            std[ch] = Math.sqrt(Math.max(sq / count - mean[ch] * mean[ch], 1e-12));
        }
    }

    private static double[] scaled(double[] v, double k) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] * k;
        }
        return out;
    }

    private static String list(double[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", v[i]));
        }
        return b.append(']').toString();
    }
}
