package io.vae4j.model.interposer;

import io.vae4j.VaeException;
import io.vae4j.model.Family;
import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shape of a city96 SD-Latent-Interposer v4 network (interposer.InterposerModel), read from its tensors:
 * latent channels in and out, working width, number of residual blocks. The scale of its nearest resampling is not
 * in the tensors: 1 for every latent space but Stable Cascade's (stage A latents are twice as large as SD's),
 * whose files are named {@code ca-to-*}; see {@link #variant}.
 *
 * @param variant the direction, e.g. "fx-to-xl" when the file's name says it, else what the channels allow
 */
public record InterposerConfig(int channelsIn, int channelsOut, int width, int blocks, double scale,
                               String variant) {
    private static final Pattern NAMED = Pattern.compile("(v1|xl|v3|fx|ca)-to-(v1|xl|v3|fx|ca)");

    /** Whether these tensor names are an interposer's (and not an autoencoder's). */
    public static boolean matches(Set<String> names) {
        return names.contains("head.short.weight") && names.contains("tail.weight")
                && names.contains("core.1.norm.running_mean");
    }

    /** @param fileName the weight file's name, which may say which latent spaces it maps between */
    static InterposerConfig infer(WeightSet w, String fileName) {
        Tensor head = require(w, "head.short.weight");
        Tensor tail = require(w, "tail.weight");
        if (head.rank() != 4 || tail.rank() != 4) {
            throw new VaeException(w.source() + ": head.short.weight and tail.weight should be 3x3 convolutions,"
                    + " got " + Arrays.toString(head.shape()) + " and " + Arrays.toString(tail.shape()));
        }
        int in = head.dim(1), width = head.dim(0), out = tail.dim(0);
        int blocks = 0;
        while (w.has("core." + (blocks + 1) + ".norm.weight")) {
            blocks++;
        }
        String named = namedVariant(fileName, in, out);
        double scale = named != null && named.startsWith("ca-") ? 0.5 : 1;
        return new InterposerConfig(in, out, width, blocks, scale,
                named != null ? named : spaces(in) + "-to-" + spaces(out));
    }

    /** "fx-to-xl" from a name like fx-to-xl_interposer-v4.0.safetensors, when the channel counts agree with it. */
    private static String namedVariant(String fileName, int in, int out) {
        Matcher m = NAMED.matcher(fileName.toLowerCase(Locale.ROOT));
        if (!m.find() || channels(m.group(1)) != in || channels(m.group(2)) != out) {
            return null;
        }
        return m.group();
    }

    private static int channels(String space) {
        return space.equals("v3") || space.equals("fx") ? 16 : 4;
    }

    /** The latent spaces a channel count can be. */
    static String spaces(int channels) {
        return switch (channels) {
            case 4 -> "v1/xl";
            case 16 -> "v3/fx";
            default -> channels + "ch";
        };
    }

    /** The models whose latents a channel count stands for, for messages. */
    static String models(int channels) {
        return switch (channels) {
            case 4 -> "SD1.x/SDXL latents";
            case 16 -> "SD3/FLUX.1 latents";
            default -> "latents of no known family";
        };
    }

    private static Tensor require(WeightSet w, String name) {
        Tensor t = w.peek(name);
        if (t == null) {
            throw new VaeException(w.source() + ": missing tensor '" + name + "' (a latent interposer has one)");
        }
        return t;
    }

    /** The family of the latents it writes, where the variant names one (xl: sdxl, ...); null otherwise. */
    public Family targetFamily() {
        return switch (variant.substring(variant.indexOf("-to-") + 4)) {
            case "v1" -> Family.SD1;
            case "xl" -> Family.SDXL;
            case "v3" -> Family.SD3;
            case "fx" -> Family.FLUX1;
            default -> null;
        };
    }

    public String describe() {
        return String.format(Locale.ROOT, "SD-Latent-Interposer v4 %s: %d -> %d latent channels (%s to %s), width"
                        + " %d, %d residual blocks, eval-mode BatchNorm (eps 1e-5)%s", variant, channelsIn, channelsOut,
                models(channelsIn).replace(" latents", ""), models(channelsOut), width, blocks,
                scale == 1 ? "" : ", nearest resampling x" + scale);
    }
}
