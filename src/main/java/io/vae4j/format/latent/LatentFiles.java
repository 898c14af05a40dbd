package io.vae4j.format.latent;

import io.vae4j.VaeException;
import io.vae4j.format.npy.Npy;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Latents on disk, chosen by extension: {@code .npy} (float32/float16/float64), ComfyUI {@code .latent} (a
 * safetensors file with {@code latent_tensor}), or a {@code .safetensors} file holding exactly one tensor.
 * Shapes [N, C, h, w] and [C, h, w] are accepted; the latter gains a batch dimension. Values are not checked
 * (finite, channel count): the model knows what it needs.
 */
public final class LatentFiles {
    /** The tensor name ComfyUI's SaveLatent/LoadLatent use. */
    public static final String COMFY_TENSOR = "latent_tensor";
    /**
     * Present (as an empty tensor) in every .latent that ComfyUI writes today. Files without it predate it and hold
     * latents multiplied by SD1's 0.18215; ComfyUI divides them back on load, and so do we.
     */
    public static final String COMFY_VERSION_MARKER = "latent_format_version_0";
    private static final float COMFY_LEGACY_SCALE = 0.18215f;
    /**
     * The metadata key naming the latent's family (sd1, sdxl, sd3, flux1, ...), where a writer knows it: ComfyUI's
     * .latent files do not say, so readers fall back to what the user tells them.
     */
    public static final String FAMILY_KEY = "family";
    /** The tensor name used when writing a plain .safetensors latent. */
    public static final String SAFETENSORS_TENSOR = "latent";

    private LatentFiles() {
    }

    /**
     * A latent read from a file: an owned float32 [N, C, h, w] tensor. {@code raw} is true when the format itself
     * says the values are in raw VAE space (unscaled, as the decoder takes them), which holds for ComfyUI .latent
     * files; false means the format does not say, and the caller applies its own scaling convention.
     */
    public record Latent(Tensor tensor, boolean raw) implements AutoCloseable {
        @Override
        public void close() {
            tensor.close();
        }
    }

    public static Latent read(Path file) {
        return switch (extension(file)) {
            case "npy" -> new Latent(batched(file, Npy.read(file)), false);
            case "latent" -> new Latent(batched(file, readComfy(file)), true);
            case "safetensors" -> new Latent(batched(file, readSingle(file)), false);
            default -> throw unknownFormat(file);
        };
    }

    /** Writes a latent in the format named by the target's extension, atomically. */
    public static void write(Path target, Tensor latent) {
        write(target, latent, Map.of());
    }

    /**
     * As {@link #write(Path, Tensor)}, with string metadata in the safetensors header of a .latent or .safetensors
     * file ({@link #FAMILY_KEY}, for one); .npy files have no place for it and get none.
     */
    public static void write(Path target, Tensor latent, Map<String, String> metadata) {
        String ext = extension(target);
        if (!ext.equals("npy") && !ext.equals("latent") && !ext.equals("safetensors")) {
            throw unknownFormat(target);
        }
        checkRank(target, latent.shape());
        switch (ext) {
            case "npy" -> Npy.write(target, latent);
            case "latent" -> {
                try (Tensor marker = Tensor.allocate(DType.F32, 0)) {
                    SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
                    tensors.put(COMFY_TENSOR, latent);
                    tensors.put(COMFY_VERSION_MARKER, marker);
                    SafetensorsFile.write(target, tensors, metadata);
                }
            }
            default -> {
                SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
                tensors.put(SAFETENSORS_TENSOR, latent);
                SafetensorsFile.write(target, tensors, metadata);
            }
        }
    }

    /**
     * The string metadata of a .latent or .safetensors latent file (its safetensors header's {@code __metadata__});
     * empty for .npy files and files without any.
     */
    public static Map<String, String> metadata(Path file) {
        String ext = extension(file);
        if (!ext.equals("latent") && !ext.equals("safetensors")) {
            return Map.of();
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return Map.copyOf(f.metadata());
        }
    }

    private static Tensor readComfy(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Tensor t = f.tensors().get(COMFY_TENSOR);
            if (t == null) {
                throw new VaeException(file + ": no tensor named '" + COMFY_TENSOR + "' (ComfyUI .latent files have"
                        + " one); found " + f.tensors().keySet());
            }
            Tensor out = t.copyF32();
            if (!f.tensors().containsKey(COMFY_VERSION_MARKER)) {
                long n = out.numel();
                for (long i = 0; i < n; i++) {
                    out.set(i, out.get(i) / COMFY_LEGACY_SCALE);
                }
            }
            return out;
        }
    }

    private static Tensor readSingle(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            if (f.tensors().size() != 1) {
                throw new VaeException(file + ": expected exactly one tensor (the latent), found "
                        + f.tensors().size() + ": " + f.tensors().keySet());
            }
            return f.tensors().firstEntry().getValue().copyF32();
        }
    }

    /** Takes ownership of {@code t}: returns it, or a batched copy after closing it, or closes it and throws. */
    private static Tensor batched(Path file, Tensor t) {
        try {
            checkRank(file, t.shape());
        } catch (VaeException e) {
            t.close();
            throw e;
        }
        if (t.rank() == 4) {
            return t;
        }
        // reshape() gives a view that would not own the memory, so the batched tensor is a copy (latents are small).
        try (t) {
            return t.reshape(1, t.dim(0), t.dim(1), t.dim(2)).copyF32();
        }
    }

    private static void checkRank(Path file, int[] shape) {
        if (shape.length != 3 && shape.length != 4) {
            throw new VaeException(file + ": a latent must have shape [N, C, h, w] or [C, h, w], got "
                    + Arrays.toString(shape));
        }
    }

    private static String extension(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    private static VaeException unknownFormat(Path file) {
        return new VaeException(file + ": unknown latent file type (expected .npy, .latent or .safetensors)");
    }
}
