package io.vae4j.model.source;

import io.vae4j.VaeException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Where a {@code --model} word points: an existing file or folder; else a hub reference
 * {@code ORG/NAME[@REVISION][:PATH]} in the local Hugging Face cache (fetched first with {@code download});
 * else, for a plain name, a file in ComfyUI's {@code models/vae} or {@code models/vae_approx}.
 *
 * @param comfyDirs ComfyUI's model folders to search, in order
 */
public record ModelSources(HubCache hub, List<Path> comfyDirs, boolean download, HubDownload downloader) {
    private static final List<String> EXTENSIONS = List.of("", ".safetensors", ".pth", ".pt", ".ckpt", ".bin");

    /**
     * From the environment ({@code HF_HUB_CACHE}, {@code HF_HOME}, {@code HF_ENDPOINT}, {@code HF_TOKEN},
     * {@code COMFYUI_DIR}) and the options.
     *
     * @param comfyDir ComfyUI's folder (--comfy-dir), or null for {@code $COMFYUI_DIR}
     */
    public static ModelSources of(Map<String, String> env, Path comfyDir, boolean download, Consumer<String> log) {
        HubCache hub = HubCache.fromEnvironment(env);
        Path comfy = comfyDir != null ? comfyDir : env.get("COMFYUI_DIR") == null || env.get("COMFYUI_DIR").isBlank()
                ? null : Path.of(env.get("COMFYUI_DIR"));
        List<Path> dirs = comfy == null ? List.of()
                : List.of(comfy.resolve("models").resolve("vae"), comfy.resolve("models").resolve("vae_approx"));
        return new ModelSources(hub, dirs, download, HubDownload.fromEnvironment(hub, env, log));
    }

    /** The path a --model word stands for. */
    public Path resolve(String spec) {
        Path p = Path.of(spec);
        if (Files.exists(p)) {
            return p;
        }
        HubCache.Ref ref = HubCache.Ref.parse(spec);
        if (ref != null) {
            Path cached = hub.resolve(ref);
            if (cached != null) {
                return cached;
            }
            if (download) {
                return downloader.fetch(ref);
            }
            throw new VaeException("model " + spec + ": no such file, and " + ref.repo() + " ("
                    + ref.revision() + (ref.path().isEmpty() ? "" : ", " + ref.path()) + ") is not in the Hugging Face"
                    + " cache " + hub.root() + " (--download fetches it)");
        }
        if (!spec.contains("/") && !spec.contains("\\")) {
            for (Path dir : comfyDirs) {
                for (String ext : EXTENSIONS) {
                    Path f = dir.resolve(spec + ext);
                    if (Files.isRegularFile(f)) {
                        return f;
                    }
                }
            }
        }
        throw new VaeException("model " + spec + ": no such file or folder" + (comfyDirs.isEmpty() ? ""
                : " (nor in " + String.join(", ", comfyDirs.stream().map(Path::toString).toList()) + ")"));
    }

    /** What `./vae4j models` lists: the hub cache's repositories with their VAE files, and ComfyUI's VAEs. */
    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        lines.add("Hugging Face cache " + hub.root() + (Files.isDirectory(hub.root()) ? "" : " (absent)") + ":");
        for (String repo : hub.repos()) {
            HubCache.Ref main = new HubCache.Ref(repo, "main", "");
            Path snapshot = hub.resolve(main);
            List<String> weights = snapshot == null ? List.of() : weights(snapshot);
            if (!weights.isEmpty()) {
                for (String w : weights) {
                    int slash = w.lastIndexOf('/');
                    String ref = w.startsWith("diffusion_pytorch_model") ? repo
                            : w.contains("/diffusion_pytorch_model") ? repo + ":" + w.substring(0, slash)
                            : repo + ":" + w;
                    lines.add("  " + ref);
                }
            }
        }
        for (Path dir : comfyDirs) {
            lines.add("ComfyUI " + dir + (Files.isDirectory(dir) ? "" : " (absent)") + ":");
            for (String w : weights(dir)) {
                if (!w.contains("/")) {
                    int dot = w.lastIndexOf('.');
                    lines.add("  " + (dot > 0 ? w.substring(0, dot) : w));
                }
            }
        }
        return lines;
    }

    /** Weight files under a folder (two levels deep), relative, sorted; a diffusers folder counts once. */
    private static List<String> weights(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir, 2)) {
            return files.filter(Files::isRegularFile)
                    .map(f -> dir.relativize(f).toString().replace('\\', '/'))
                    .filter(n -> EXTENSIONS.stream().skip(1).anyMatch(n.toLowerCase(Locale.ROOT)::endsWith))
                    .filter(n -> !n.contains("/") || n.contains("vae") || n.contains("tae"))
                    .filter(n -> !n.contains("diffusion_pytorch_model") || n.endsWith("diffusion_pytorch_model.safetensors"))
                    .sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
