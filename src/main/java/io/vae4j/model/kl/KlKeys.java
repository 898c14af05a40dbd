package io.vae4j.model.kl;

import io.vae4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tensor names of the two AutoencoderKL layouts in the wild. The graph uses the original ldm names; diffusers files
 * are renamed on load (their up blocks run in the opposite order, and their attention projections are linear
 * [C, C] weights, which become 1x1 convolution views of the same memory).
 */
public final class KlKeys {
    private static final Pattern DIFFUSERS = Pattern.compile("^(encoder|decoder)\\.(down_blocks|up_blocks|mid_block|conv_norm_out)\\.");
    private static final Pattern LDM = Pattern.compile("^(encoder\\.(down|mid|norm_out|conv_in)|decoder\\.(up|mid|norm_out|conv_in))\\.");
    private static final Pattern UP = Pattern.compile("^decoder\\.up_blocks\\.(\\d+)\\.");
    private static final Pattern ATTN_PROJ = Pattern.compile("\\.attn_1\\.(q|k|v|proj_out)\\.weight$");

    private KlKeys() {
    }

    public static boolean isDiffusers(Iterable<String> names) {
        for (String n : names) {
            if (DIFFUSERS.matcher(n).find()) {
                return true;
            }
        }
        return false;
    }

    public static boolean isLdm(Iterable<String> names) {
        for (String n : names) {
            if (LDM.matcher(n).find()) {
                return true;
            }
        }
        return false;
    }

    /** Renames diffusers keys to ldm keys (ldm keys pass through) and reshapes linear attention weights. */
    public static SequencedMap<String, Tensor> toLdm(Map<String, Tensor> tensors) {
        int upBlocks = 0;
        for (String n : tensors.keySet()) {
            Matcher m = UP.matcher(n);
            if (m.find()) {
                upBlocks = Math.max(upBlocks, Integer.parseInt(m.group(1)) + 1);
            }
        }
        SequencedMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            String name = rename(e.getKey(), upBlocks);
            Tensor t = e.getValue();
            if (ATTN_PROJ.matcher(name).find() && t.rank() == 2) {
                t = t.reshape(t.dim(0), t.dim(1), 1, 1);
            }
            out.put(name, t);
        }
        return out;
    }

    static String rename(String n, int upBlocks) {
        Matcher up = UP.matcher(n);
        if (up.find()) {
            n = "decoder.up." + (upBlocks - 1 - Integer.parseInt(up.group(1))) + "." + n.substring(up.end());
        }
        n = n.replaceFirst("^encoder\\.down_blocks\\.(\\d+)\\.", "encoder.down.$1.");
        n = n.replaceFirst("^(encoder\\.down\\.\\d+|decoder\\.up\\.\\d+)\\.resnets\\.", "$1.block.");
        n = n.replaceFirst("^(encoder\\.down\\.\\d+)\\.downsamplers\\.0\\.conv\\.", "$1.downsample.conv.");
        n = n.replaceFirst("^(decoder\\.up\\.\\d+)\\.upsamplers\\.0\\.conv\\.", "$1.upsample.conv.");
        n = n.replaceFirst("^(encoder|decoder)\\.mid_block\\.resnets\\.0\\.", "$1.mid.block_1.");
        n = n.replaceFirst("^(encoder|decoder)\\.mid_block\\.resnets\\.1\\.", "$1.mid.block_2.");
        n = n.replaceFirst("^(encoder|decoder)\\.mid_block\\.attentions\\.0\\.", "$1.mid.attn_1.");
        n = n.replaceFirst("^(encoder|decoder)\\.conv_norm_out\\.", "$1.norm_out.");
        n = n.replaceFirst("\\.block\\.(\\d+)\\.conv_shortcut\\.", ".block.$1.nin_shortcut.");
        n = n.replaceFirst("\\.attn_1\\.group_norm\\.", ".attn_1.norm.");
        n = n.replaceFirst("\\.attn_1\\.(to_q|query)\\.", ".attn_1.q.");
        n = n.replaceFirst("\\.attn_1\\.(to_k|key)\\.", ".attn_1.k.");
        n = n.replaceFirst("\\.attn_1\\.(to_v|value)\\.", ".attn_1.v.");
        n = n.replaceFirst("\\.attn_1\\.(to_out\\.0|proj_attn)\\.", ".attn_1.proj_out.");
        return n;
    }
}
