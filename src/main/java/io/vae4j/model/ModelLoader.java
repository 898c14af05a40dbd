package io.vae4j.model;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.format.WeightFile;
import io.vae4j.format.WeightFiles;
import io.vae4j.format.json.Json;
import io.vae4j.model.consistency.ConsistencyDecoderVae;
import io.vae4j.model.interposer.Interposer;
import io.vae4j.model.interposer.InterposerConfig;
import io.vae4j.model.kl.AutoencoderKL;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlKeys;
import io.vae4j.model.svd.SvdKeys;
import io.vae4j.model.svd.TemporalAutoencoder;
import io.vae4j.model.taesd.Taesd;
import io.vae4j.model.taesd.TaesdLayout;
import io.vae4j.model.taesd.TaesdVariant;
import io.vae4j.model.vq.VqConfig;
import io.vae4j.model.vq.VqModel;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.IoErrors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;

/**
 * Turns what a user points at (a weight file, a diffusers folder, a pipeline folder, a whole SD checkpoint) into a
 * running model. The architecture comes from the tensors (an AutoencoderKL, or a TAESD-family model); a config.json,
 * when there is one, is checked against them and decides the family.
 */
public final class ModelLoader {
    /** Key prefixes under which whole checkpoints keep their VAE, most specific first. */
    private static final List<String> PREFIXES = List.of("first_stage_model.", "vae.");
    private static final String[] DIFFUSERS_WEIGHTS = {"diffusion_pytorch_model.safetensors",
            "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"};

    private ModelLoader() {
    }

    /**
     * Loads a model.
     *
     * @param family the family chosen by the user, or null to decide from config.json or the tensors
     */
    public static Model load(Path path, Backend backend, Family family) {
        Path weights = weightsFile(path);
        Map<String, Object> config = Files.isDirectory(path) ? readConfig(modelDir(path).resolve("config.json"))
                : null;
        return load(WeightFiles.open(weights), config, backend, family);
    }

    /** The weight file a model path stands for: the path itself, or the weights in a diffusers or pipeline folder. */
    public static Path weightsFile(Path path) {
        return Files.isDirectory(path) ? findWeights(modelDir(path)) : path;
    }

    /** A diffusers model folder is itself the model; a pipeline folder holds it in vae/. */
    private static Path modelDir(Path dir) {
        if (!Files.exists(dir.resolve("config.json")) && Files.isDirectory(dir.resolve("vae"))) {
            return dir.resolve("vae");
        }
        return dir;
    }

    /**
     * The latent interposer at a model path (latent to latent, so not a {@link Model}), or empty, with nothing left
     * open, when the file holds something else.
     */
    public static Optional<Interposer> interposer(Path path, Backend backend) {
        WeightFile file = WeightFiles.open(weightsFile(path));
        if (!InterposerConfig.matches(file.tensors().keySet())) {
            file.close();
            return Optional.empty();
        }
        return Optional.of(Interposer.load(backend, file));
    }

    /** Builds a model from weights already open; the model takes ownership of {@code file}. */
    public static Model load(WeightFile file, Map<String, Object> config, Backend backend, Family family) {
        try {
            return new Model(build(file, config, backend, family), file);
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    private static Path findWeights(Path dir) {
        for (String name : DIFFUSERS_WEIGHTS) {
            if (Files.isRegularFile(dir.resolve(name))) {
                return dir.resolve(name);
            }
        }
        throw new VaeException(dir + ": not a model folder (expected config.json and "
                + "diffusion_pytorch_model.safetensors, or a vae/ subfolder holding them)");
    }

    private static Map<String, Object> readConfig(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            Object parsed = Json.parse(Files.readString(file));
            if (!(parsed instanceof Map<?, ?> map)) {
                throw new VaeException(file + ": expected a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) map;
            return m;
        } catch (IOException e) {
            throw new VaeException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    private static Vae build(WeightFile file, Map<String, Object> config, Backend backend, Family family) {
        String source = file.path().toString();
        SequencedMap<String, Tensor> tensors = file.tensors();
        String prefix = prefixOf(tensors);
        if (prefix != null) {
            tensors = strip(tensors, prefix);
        }
        if (InterposerConfig.matches(tensors.keySet())) {
            throw new VaeException(source + ": a latent interposer (it maps latents to latents, no images): run it"
                    + " with ./vae4j interpose");
        }
        if (tensors.containsKey(VqConfig.CODEBOOK)) {
            return VqModel.load(backend, source, tensors, file.skipped(),
                    "ldm VQModel" + (prefix == null ? "" : " under '" + prefix + "'"), family);
        }
        TaesdLayout taesd = TaesdLayout.detect(tensors.keySet());
        if (taesd != null) {
            String layout = taesd.description() + (prefix == null ? "" : " under '" + prefix + "'");
            return Taesd.load(backend, new WeightSet(source, tensors, file.skipped()), taesd.withDescription(layout),
                    config, family);
        }
        if (ConsistencyDecoderVae.detect(tensors.keySet())) {
            return ConsistencyDecoderVae.load(backend, source, tensors, file.skipped(), config,
                    decideSpace(4, config, family, prefix, null));
        }
        return buildKl(source, tensors, file.skipped(), prefix, config, backend, family);
    }

    private static Vae buildKl(String source, SequencedMap<String, Tensor> tensors, Map<String, String> skipped,
                               String prefix, Map<String, Object> config, Backend backend, Family family) {
        boolean diffusers = KlKeys.isDiffusers(tensors.keySet());
        if (!diffusers && !KlKeys.isLdm(tensors.keySet())) {
            throw new VaeException(source + ": not a known VAE layout; first tensors: "
                    + String.join(", ", tensors.keySet().stream().limit(4).toList()));
        }
        boolean temporal = SvdKeys.isTemporal(tensors.keySet());
        SequencedMap<String, Tensor> kept = Flux2Normalisation.withoutStatistics(tensors);
        WeightSet w = new WeightSet(source, KlKeys.toLdm(temporal ? SvdKeys.toSgm(kept) : kept), skipped);
        KlConfig kl = KlConfig.infer(w);
        if (config != null) {
            checkConfig(source, config, kl);
        }
        String layout = (diffusers ? "diffusers" : temporal ? "sgm" : "ldm")
                + (prefix == null ? "" : " under '" + prefix + "'");
        Flux2Normalisation bn = Flux2Normalisation.present(tensors) ? Flux2Normalisation.of(source, tensors,
                kl.latentChannels(), config != null && config.get("batch_norm_eps") instanceof Number e
                        ? e.doubleValue() : Flux2Normalisation.DEFAULT_EPS) : null;
        LatentSpace space = decideSpace(kl.latentChannels(), config, family, prefix, bn);
        if (temporal) {
            return new TemporalAutoencoder(backend, w, kl, layout, space);
        }
        return new AutoencoderKL(backend, w, kl, layout, space);
    }

    private static String prefixOf(Map<String, Tensor> tensors) {
        for (String p : PREFIXES) {
            for (String name : tensors.keySet()) {
                if (name.startsWith(p + "encoder.") || name.startsWith(p + "decoder.")) {
                    return p;
                }
            }
        }
        return null;
    }

    /** The VAE's tensors without the prefix; everything else in the checkpoint (UNet, text encoder, loss) is left. */
    private static SequencedMap<String, Tensor> strip(Map<String, Tensor> tensors, String prefix) {
        SequencedMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            String name = e.getKey();
            if (name.startsWith(prefix) && !name.startsWith(prefix + "loss.")) {
                out.put(name.substring(prefix.length()), e.getValue());
            }
        }
        return out;
    }

    private static void checkConfig(String source, Map<String, Object> c, KlConfig kl) {
        List<String> errors = new ArrayList<>();
        Object blocks = c.get("block_out_channels");
        if (blocks instanceof List<?> list) {
            List<Integer> expected = java.util.Arrays.stream(kl.levelChannels()).boxed().toList();
            List<Integer> got = list.stream().map(o -> o instanceof Number n ? n.intValue() : -1).toList();
            if (!expected.equals(got)) {
                errors.add("block_out_channels " + got + " but the tensors have " + expected);
            }
        }
        expect(c, "layers_per_block", kl.numResBlocks(), errors);
        expect(c, "latent_channels", kl.latentChannels(), errors);
        expect(c, "in_channels", kl.imageChannels(), errors);
        if (c.get("norm_num_groups") instanceof Number n && n.intValue() != KlConfig.GROUPS) {
            errors.add("norm_num_groups " + n + " is not supported (only " + KlConfig.GROUPS + ")");
        }
        if (Boolean.FALSE.equals(c.get("use_quant_conv")) && kl.quantConv()) {
            errors.add("use_quant_conv is false but the file has quant_conv");
        }
        if (Boolean.TRUE.equals(c.get("use_quant_conv")) && kl.hasEncoder() && !kl.quantConv()) {
            errors.add("use_quant_conv is true but the file has no quant_conv");
        }
        if (Boolean.FALSE.equals(c.get("mid_block_add_attention"))
                && (kl.encoderMidAttention() || kl.decoderMidAttention())) {
            errors.add("mid_block_add_attention is false but the file has mid-block attention");
        }
        if (!errors.isEmpty()) {
            throw new VaeException(source + ": config.json disagrees with the weights: " + String.join("; ", errors));
        }
    }

    private static void expect(Map<String, Object> c, String field, int actual, List<String> errors) {
        if (c.get(field) instanceof Number n && n.intValue() != actual) {
            errors.add(field + " " + n + " but the tensors say " + actual);
        }
    }

    /**
     * The latent space of the full-size VAE whose latents a tiny autoencoder (TAESD) stands in for: from
     * {@code chosen} when given, else assumed from the channel count. Needed where a file holds that VAE's raw
     * latents (ComfyUI .latent) while TAESD works in diffusion space.
     */
    public static LatentSpace parentSpace(int latentChannels, Family chosen) {
        return decideSpace(latentChannels, null, chosen, null,
                chosen == Family.FLUX2 ? Flux2Normalisation.patchesOnly(latentChannels) : null);
    }

    /**
     * As {@link #parentSpace(int, Family)}, knowing the model: TAEF2 stands in for FLUX.2, whose ComfyUI latents are
     * the 2x2-patched ones (TAEF2's own are those, unpatched).
     */
    public static LatentSpace parentSpace(Vae vae, Family chosen) {
        boolean taef2 = vae instanceof Taesd t && t.config().variant() == TaesdVariant.TAEF2;
        return parentSpace(vae.latentChannels(), chosen == null && taef2 ? Family.FLUX2 : chosen);
    }

    /** @param bn FLUX.2's BatchNorm statistics when the file has them, else null */
    static LatentSpace decideSpace(int latentChannels, Map<String, Object> config, Family chosen, String prefix,
                                   Flux2Normalisation bn) {
        if (chosen != null) {
            if (chosen.latentChannels != latentChannels) {
                throw new VaeException("--family " + chosen.id + " needs a " + chosen.latentChannels
                        + "-channel model, but this one has " + latentChannels + " latent channels (looks like "
                        + Family.guessFromChannels(latentChannels) + ")");
            }
            if (chosen == Family.FLUX2) {
                if (bn == null) {
                    throw new VaeException("--family flux2 needs the VAE's BatchNorm statistics (bn.running_mean,"
                            + " bn.running_var), which this file does not have");
                }
                return new LatentSpace(chosen, 1, 0, "--family", bn);
            }
            return LatentSpace.of(chosen, "--family");
        }
        if (bn != null) {
            return new LatentSpace(Family.FLUX2, 1, 0, "bn.* tensors"
                    + (config != null && config.containsKey("batch_norm_eps") ? ", eps from config.json" : ""), bn);
        }
        if (config != null && config.get("scaling_factor") instanceof Number s) {
            double shift = config.get("shift_factor") instanceof Number n ? n.doubleValue() : 0;
            for (Family f : Family.values()) {
                if (f != Family.SD2 && f != Family.FLUX2 && f.latentChannels == latentChannels
                        && close(f.scale, s.doubleValue())
                        && close(f.shift, shift)) {
                    return LatentSpace.of(f, "config.json");
                }
            }
            return new LatentSpace(Family.OTHER, s.doubleValue(), shift, "config.json");
        }
        return switch (latentChannels) {
            case 4 -> LatentSpace.of(Family.SD1, "assumed: 4 latent channels; SD2 shares these factors, SDXL has"
                    + " the same shapes, pass --family sdxl for SDXL latents");
            case 16 -> "first_stage_model.".equals(prefix)
                    ? LatentSpace.of(Family.SD3, "assumed: 16-channel VAE inside an SD checkpoint; pass --family"
                    + " flux1 for FLUX.1 latents")
                    : LatentSpace.of(Family.FLUX1, "assumed: 16 latent channels; SD3 has the same shapes, pass"
                    + " --family sd3 for SD3 latents");
            default -> new LatentSpace(Family.OTHER, 1, 0, "assumed: unknown " + latentChannels
                    + "-channel family, no latent scaling");
        };
    }

    private static boolean close(double a, double b) {
        return Math.abs(a - b) < 1e-6;
    }
}
