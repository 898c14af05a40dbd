package io.vae4j.model;

import io.vae4j.VaeException;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * FLUX.2's diffusion latent space: the VAE's raw latent [B, C, h, w] cut into 2x2 patches, [B, 4C, h/2, w/2] with
 * patched channel 4c + 2dy + dx holding raw[c][2i + dy][2j + dx] (diffusers' Flux2Pipeline._patchify_latents), then
 * each patched channel normalised by the VAE's own BatchNorm running statistics: diffusion = (patched - mean) /
 * sqrt(var + eps). The FLUX.2 transformer and ComfyUI's FLUX.2 latents live in this space.
 *
 * @param mean per patched channel (4C values)
 * @param std  per patched channel: sqrt(running_var + eps)
 */
public record Flux2Normalisation(int latentChannels, float[] mean, float[] std) {
    /** The BatchNorm keys of diffusers' AutoencoderKLFlux2 (and BFL's flux2 autoencoder). */
    static final String MEAN = "bn.running_mean", VAR = "bn.running_var", COUNT = "bn.num_batches_tracked";
    /** AutoencoderKLFlux2's default batch_norm_eps, used when no config.json says otherwise. */
    public static final double DEFAULT_EPS = 1e-4;

    public Flux2Normalisation {
        if (mean.length != 4 * latentChannels || std.length != 4 * latentChannels) {
            throw new IllegalArgumentException("statistics for " + mean.length + " channels, " + latentChannels
                    + " latent channels");
        }
    }

    /**
     * The 2x2 patching alone, for a model that has no statistics of its own (TAEF2 works on FLUX.2's normalised
     * latents, unpatched): mean 0, std 1.
     */
    public static Flux2Normalisation patchesOnly(int latentChannels) {
        float[] mean = new float[4 * latentChannels], std = new float[4 * latentChannels];
        Arrays.fill(std, 1f);
        return new Flux2Normalisation(latentChannels, mean, std);
    }

    /** Whether a weight file holds FLUX.2's BatchNorm statistics. */
    public static boolean present(Map<String, Tensor> tensors) {
        return tensors.containsKey(MEAN) || tensors.containsKey(VAR);
    }

    /** The statistics from {@code bn.running_mean} and {@code bn.running_var} for a VAE of this many channels. */
    public static Flux2Normalisation of(String source, Map<String, Tensor> tensors, int latentChannels, double eps) {
        Tensor mean = tensors.get(MEAN), var = tensors.get(VAR);
        int n = 4 * latentChannels;
        for (var e : new Object[][]{{MEAN, mean}, {VAR, var}}) {
            Tensor t = (Tensor) e[1];
            if (t == null || t.rank() != 1 || t.dim(0) != n) {
                throw new VaeException(source + ": FLUX.2 VAE needs '" + e[0] + "' of shape [" + n + "] (4 x "
                        + latentChannels + " latent channels, 2x2 patches), got "
                        + (t == null ? "none" : Arrays.toString(t.shape())));
            }
        }
        float[] m = new float[n], s = new float[n];
        for (int i = 0; i < n; i++) {
            m[i] = mean.get(i);
            float v = var.get(i);
            if (!(v >= 0) || !Float.isFinite(m[i])) {
                throw new VaeException(source + ": '" + VAR + "' or '" + MEAN + "' has an invalid value at channel "
                        + i + " (variance " + v + ", mean " + m[i] + ")");
            }
            s[i] = (float) Math.sqrt(v + eps);
        }
        return new Flux2Normalisation(latentChannels, m, s);
    }

    /** The tensors without the BatchNorm ones, which belong to the latent space and not to the network. */
    public static SequencedMap<String, Tensor> withoutStatistics(Map<String, Tensor> tensors) {
        SequencedMap<String, Tensor> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> {
            if (!k.equals(MEAN) && !k.equals(VAR) && !k.equals(COUNT)) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** Diffusion latent [B, 4C, h, w] to the VAE's raw latent [B, C, 2h, 2w], a new float32 tensor. */
    public Tensor toRaw(Tensor z) {
        if (z.rank() != 4 || z.dim(1) != 4 * latentChannels) {
            throw new VaeException("a FLUX.2 diffusion latent is [N, " + 4 * latentChannels + ", h, w] ("
                    + latentChannels + " latent channels in 2x2 patches), got " + Arrays.toString(z.shape())
                    + "; the VAE's own latents are [N, " + latentChannels + ", h, w] (pass --raw)");
        }
        Tensor out = Tensor.allocate(z.dim(0), latentChannels, 2 * z.dim(2), 2 * z.dim(3));
        walk(z, out, true);
        return out;
    }

    /** The VAE's raw latent [B, C, h, w] (h and w even) to the diffusion latent [B, 4C, h/2, w/2], a new tensor. */
    public Tensor toDiffusion(Tensor raw) {
        if (raw.rank() != 4 || raw.dim(1) != latentChannels || raw.dim(2) % 2 != 0 || raw.dim(3) % 2 != 0) {
            throw new VaeException("FLUX.2 diffusion latents are 2x2 patches of [N, " + latentChannels
                    + ", h, w] with h and w even (images a multiple of 16 pixels on each side), got "
                    + Arrays.toString(raw.shape()) + " (--raw writes the VAE's own latent)");
        }
        Tensor out = Tensor.allocate(raw.dim(0), 4 * latentChannels, raw.dim(2) / 2, raw.dim(3) / 2);
        walk(out, raw, false);
        return out;
    }

    /**
     * Visits every patched value and its raw place: patched[n][4c + 2dy + dx][i][j] and raw[n][c][2i + dy][2j + dx];
     * writes the raw one from the patched (toRaw) or the other way.
     */
    private void walk(Tensor patched, Tensor raw, boolean toRaw) {
        int b = patched.dim(0), h = patched.dim(2), w = patched.dim(3);
        for (int n = 0; n < b; n++) {
            for (int p = 0; p < 4 * latentChannels; p++) {
                int c = p / 4, dy = (p / 2) % 2, dx = p % 2;
                long pBase = ((long) n * 4 * latentChannels + p) * h * w;
                long rBase = ((long) n * latentChannels + c) * 4L * h * w;
                for (int i = 0; i < h; i++) {
                    for (int j = 0; j < w; j++) {
                        long pi = pBase + (long) i * w + j, ri = rBase + (2L * i + dy) * 2 * w + 2L * j + dx;
                        if (toRaw) {
                            raw.set(ri, patched.get(pi) * std[p] + mean[p]);
                        } else {
                            patched.set(pi, (raw.get(ri) - mean[p]) / std[p]);
                        }
                    }
                }
            }
        }
    }

    /** Whether these are real statistics rather than {@link #patchesOnly}. */
    public boolean hasStatistics() {
        for (int i = 0; i < mean.length; i++) {
            if (mean[i] != 0 || std[i] != 1) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Flux2Normalisation n && n.latentChannels == latentChannels && Arrays.equals(n.mean, mean)
                && Arrays.equals(n.std, std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "Flux2Normalisation[" + latentChannels + " channels" + (hasStatistics() ? "" : ", patches only") + "]";
    }
}
