package io.vae4j.cli;

import io.vae4j.model.source.ModelSources;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * Where a --model word is looked up beyond the file system (io.vae4j.model.source): ORG/NAME[@REV][:PATH] in the
 * Hugging Face cache, fetched with --download; plain names in ComfyUI's folders.
 */
final class SourceOptions {
    @Option(names = "--comfy-dir", paramLabel = "DIR", order = 2,
            description = "ComfyUI's folder, for --model NAME in models/vae* (default: $COMFYUI_DIR)")
    Path comfyDir;

    @Option(names = "--download", order = 3,
            description = "fetch an ORG/NAME model missing from the Hugging Face cache")
    boolean download;

    ModelSources sources() {
        return ModelSources.of(System.getenv(), comfyDir, download, Log::info);
    }

    /** The file or folder a --model word stands for. */
    Path resolve(String model) {
        return sources().resolve(model);
    }
}
