package io.vae4j.model.svd;

import io.vae4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Tensor names of the Stable Video Diffusion VAE. The graph takes the names of generative-models (sgm), which are
 * ldm's plus, in every decoder res block, {@code time_stack.*} and {@code mix_factor}, and
 * {@code decoder.conv_out.time_mix_conv.*}. A diffusers AutoencoderKLTemporalDecoder names the temporal parts
 * differently; {@link #toSgm} renames them, leaving the rest in diffusers naming for
 * {@link io.vae4j.model.kl.KlKeys#toLdm}.
 */
public final class SvdKeys {
    private SvdKeys() {
    }

    /** Whether these tensors hold a temporal decoder, in either naming. */
    public static boolean isTemporal(Iterable<String> names) {
        for (String n : names) {
            if (n.startsWith("decoder.") && (n.contains(".time_stack.") || n.contains(".temporal_res_block.")
                    || n.startsWith("decoder.time_conv_out.") || n.startsWith("decoder.conv_out.time_mix_conv."))) {
                return true;
            }
        }
        return false;
    }

    /** The diffusers temporal names renamed to sgm's; every other name passes through. */
    public static SequencedMap<String, Tensor> toSgm(Map<String, Tensor> tensors) {
        SequencedMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            out.put(rename(e.getKey()), e.getValue());
        }
        return out;
    }

    static String rename(String n) {
        n = n.replaceFirst("^decoder\\.time_conv_out\\.", "decoder.conv_out.time_mix_conv.");
        n = n.replaceFirst("\\.resnets\\.(\\d+)\\.spatial_res_block\\.", ".resnets.$1.");
        n = n.replaceFirst("\\.resnets\\.(\\d+)\\.time_mixer\\.mix_factor$", ".resnets.$1.mix_factor");
        n = n.replaceFirst("\\.resnets\\.(\\d+)\\.temporal_res_block\\.norm1\\.", ".resnets.$1.time_stack.in_layers.0.");
        n = n.replaceFirst("\\.resnets\\.(\\d+)\\.temporal_res_block\\.conv1\\.", ".resnets.$1.time_stack.in_layers.2.");
        n = n.replaceFirst("\\.resnets\\.(\\d+)\\.temporal_res_block\\.norm2\\.", ".resnets.$1.time_stack.out_layers.0.");
        n = n.replaceFirst("\\.resnets\\.(\\d+)\\.temporal_res_block\\.conv2\\.", ".resnets.$1.time_stack.out_layers.3.");
        return n;
    }
}
