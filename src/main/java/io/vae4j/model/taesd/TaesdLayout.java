package io.vae4j.model.taesd;

import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a file names the TAESD networks' tensors. TAESD's encoder and decoder are each an {@code nn.Sequential}; the
 * original {@code taesd_encoder.pth} / {@code taesd_decoder.pth} files hold one of them each, keyed by module index
 * ({@code 1.conv.0.weight}). Combined files put them under {@code encoder.} / {@code decoder.} (or ComfyUI's
 * {@code taesd_encoder.} / {@code taesd_decoder.}). diffusers' AutoencoderTiny uses {@code encoder.layers.K} for
 * encoder module K and {@code decoder.layers.K-1} for decoder module K, because it applies the decoder's leading
 * Clamp itself instead of as module 0.
 *
 * <p>Graph builders ask for tensors by the original module index; this maps that index to the file's own name, so
 * errors name the tensor as the user's file spells it.
 *
 * @param encoderPrefix what precedes the encoder's module index, or null when the file has no encoder
 * @param decoderPrefix what precedes the decoder's module index, or null when the file has no decoder
 * @param decoderOffset added to the original decoder module index (-1 for diffusers)
 */
public record TaesdLayout(String description, String encoderPrefix, String decoderPrefix, int decoderOffset) {
    private static final Pattern DIFFUSERS = Pattern.compile("^(encoder|decoder)\\.layers\\.\\d+\\.");
    private static final Pattern PREFIXED = Pattern.compile("^(taesd_)?(encoder|decoder)\\.\\d+\\.");
    private static final Pattern BARE = Pattern.compile("^\\d+\\.");

    public boolean hasEncoder() {
        return encoderPrefix != null;
    }

    public boolean hasDecoder() {
        return decoderPrefix != null;
    }

    /** The file's name of encoder module {@code index}, e.g. {@code 3} or {@code encoder.layers.3}. */
    public String encoderModule(int index) {
        return encoderPrefix + index;
    }

    /** The file's name of decoder module {@code index}, index as in taesd.py's Decoder. */
    public String decoderModule(int index) {
        return decoderPrefix + (index + decoderOffset);
    }

    /** The file's name of encoder module {@code index}'s tensor {@code rest} ("weight", "conv.0.bias", ...). */
    public String encoder(int index, String rest) {
        return encoderModule(index) + "." + rest;
    }

    /** The file's name of decoder module {@code index}'s tensor {@code rest}, index as in taesd.py's Decoder. */
    public String decoder(int index, String rest) {
        return decoderModule(index) + "." + rest;
    }

    /**
     * The TAESD layout these names are in, or null when they do not look like TAESD. Only the names are read; the
     * graph builder checks every shape afterwards.
     */
    public static TaesdLayout detect(Collection<String> names) {
        boolean diffusersEncoder = false, diffusersDecoder = false;
        String prefixed = null;
        boolean prefixedEncoder = false, prefixedDecoder = false, bare = false;
        for (String n : names) {
            Matcher d = DIFFUSERS.matcher(n);
            if (d.find()) {
                diffusersEncoder |= d.group(1).equals("encoder");
                diffusersDecoder |= d.group(1).equals("decoder");
                continue;
            }
            Matcher p = PREFIXED.matcher(n);
            if (p.find()) {
                prefixed = p.group(1) == null ? "" : p.group(1);
                prefixedEncoder |= p.group(2).equals("encoder");
                prefixedDecoder |= p.group(2).equals("decoder");
                continue;
            }
            bare |= BARE.matcher(n).find();
        }
        if (diffusersEncoder || diffusersDecoder) {
            return new TaesdLayout("diffusers AutoencoderTiny", diffusersEncoder ? "encoder.layers." : null,
                    diffusersDecoder ? "decoder.layers." : null, -1);
        }
        if (prefixed != null) {
            return new TaesdLayout("taesd nn.Sequential under '" + prefixed + "encoder.' / '" + prefixed
                    + "decoder.'", prefixedEncoder ? prefixed + "encoder." : null,
                    prefixedDecoder ? prefixed + "decoder." : null, 0);
        }
        if (bare) {
            // taesd.py's Encoder starts with a convolution (module 0); its Decoder with the parameterless Clamp.
            if (names.contains("0.weight")) {
                return new TaesdLayout("taesd nn.Sequential, encoder only", "", null, 0);
            }
            if (names.contains("1.weight")) {
                return new TaesdLayout("taesd nn.Sequential, decoder only", null, "", 0);
            }
        }
        return null;
    }

    /** The same layout under another description (where the tensors were found, say). */
    public TaesdLayout withDescription(String text) {
        return new TaesdLayout(text, encoderPrefix, decoderPrefix, decoderOffset);
    }

    /** The highest original module index that has a tensor in {@code names}, or -1. */
    int lastIndex(Collection<String> names, boolean encoder) {
        String prefix = encoder ? encoderPrefix : decoderPrefix;
        int offset = encoder ? 0 : decoderOffset;
        int last = -1;
        for (String n : names) {
            if (!n.startsWith(prefix)) {
                continue;
            }
            int end = prefix.length();
            while (end < n.length() && Character.isDigit(n.charAt(end))) {
                end++;
            }
            if (end > prefix.length() && end < n.length() && n.charAt(end) == '.' && end - prefix.length() < 6) {
                last = Math.max(last, Integer.parseInt(n.substring(prefix.length(), end)) - offset);
            }
        }
        return last;
    }
}
