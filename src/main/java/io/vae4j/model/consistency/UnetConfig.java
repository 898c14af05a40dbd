package io.vae4j.model.consistency;

import io.vae4j.VaeException;
import io.vae4j.model.WeightSet;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The consistency decoder UNet's architecture (diffusers UNet2DModel), read off its tensors: channels per level,
 * residual blocks per level, input and output channels, the learned timestep table's length; GroupNorm groups and
 * eps come from config.json when there is one (diffusers' defaults, 32 and 1e-5, otherwise).
 */
record UnetConfig(int[] levelChannels, int layersPerBlock, int inChannels, int outChannels, int trainSteps,
                  int groups, float eps) {

    int levels() {
        return levelChannels.length;
    }

    /** The image side must be a multiple of this: the UNet halves it once per level but the last. */
    int sizeMultiple() {
        return 1 << (levels() - 1);
    }

    static UnetConfig infer(WeightSet w, Map<String, Object> config) {
        int levels = 0;
        while (w.has("down_blocks." + levels + ".resnets.0.conv1.weight")) {
            levels++;
        }
        int layers = 0;
        while (w.has("down_blocks.0.resnets." + layers + ".conv1.weight")) {
            layers++;
        }
        if (levels == 0 || layers == 0 || !w.has("conv_in.weight") || !w.has("conv_out.weight")
                || !w.has("time_proj.weight")) {
            throw new VaeException(w.source() + ": incomplete consistency decoder UNet (decoder_unet.*): expected"
                    + " conv_in, conv_out, time_proj and down_blocks.N.resnets.M tensors");
        }
        int[] channels = new int[levels];
        for (int i = 0; i < levels; i++) {
            channels[i] = w.peek("down_blocks." + i + ".resnets.0.conv2.weight").dim(0);
        }
        int groups = 32;
        float eps = 1e-5f;
        if (config != null) {
            check(w, config);
            if (config.get("decoder_norm_num_groups") instanceof Number n) {
                groups = n.intValue();
            }
            if (config.get("decoder_norm_eps") instanceof Number n) {
                eps = n.floatValue();
            }
        }
        for (int c : channels) {
            if (c % groups != 0) {
                throw new VaeException(w.source() + ": decoder UNet level of " + c + " channels is not divisible"
                        + " into " + groups + " GroupNorm groups");
            }
        }
        return new UnetConfig(channels, layers, w.peek("conv_in.weight").dim(1), w.peek("conv_out.weight").dim(0),
                w.peek("time_proj.weight").dim(0), groups, eps);
    }

    /** The settings this runtime implements; a config asking for others is refused by name. */
    private static void check(WeightSet w, Map<String, Object> c) {
        expect(w, c, "decoder_time_embedding_type", "learned");
        expect(w, c, "decoder_resnet_time_scale_shift", "scale_shift");
        if (Boolean.TRUE.equals(c.get("decoder_add_attention"))) {
            throw new VaeException(w.source() + ": config.json: decoder_add_attention true is not supported (the"
                    + " consistency decoder's UNet has no attention)");
        }
        for (String field : List.of("decoder_down_block_types", "decoder_up_block_types")) {
            if (c.get(field) instanceof List<?> types) {
                String want = field.contains("down") ? "ResnetDownsampleBlock2D" : "ResnetUpsampleBlock2D";
                if (types.stream().anyMatch(t -> !want.equals(t))) {
                    throw new VaeException(w.source() + ": config.json: " + field + " " + types
                            + " is not supported (only " + want + ")");
                }
            }
        }
    }

    private static void expect(WeightSet w, Map<String, Object> c, String field, String value) {
        Object v = c.get(field);
        if (v != null && !value.equals(v)) {
            throw new VaeException(w.source() + ": config.json: " + field + " '" + v + "' is not supported (only '"
                    + value + "')");
        }
    }

    String describe() {
        return "block_out_channels=" + Arrays.toString(levelChannels) + " layers_per_block=" + layersPerBlock
                + " in=" + inChannels + " out=" + outChannels + " learned time embedding over " + trainSteps
                + " steps, scale-shift GroupNorm(" + groups + "), no attention";
    }
}
