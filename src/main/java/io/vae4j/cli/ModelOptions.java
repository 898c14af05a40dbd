package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.model.Family;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.pipeline.Heartbeat;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** decode's and encode's --model and --family, and the model loading they share with the other commands. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "M", order = 1,
            description = "file, folder, ORG/NAME[@REV][:PATH] or ComfyUI name (default: models/taef2)")
    String model;

    @Mixin
    SourceOptions sources;

    @Option(names = "--family", paramLabel = "F", order = 20, completionCandidates = Choices.FamilyIds.class,
            description = "latent space: ${COMPLETION-CANDIDATES} (default: from the model)")
    String family;

    /** --family, or null when not given. */
    Family family() {
        return family(family);
    }

    static Family family(String f) {
        if (f == null) {
            return null;
        }
        Family family = Family.parse(f);
        if (family == null || family.latentChannels < 0) {
            throw new UsageException("unknown --family '" + f + "' (expected one of: " + Family.ids() + ")");
        }
        return family;
    }

    Model load(Backend backend) {
        return load(modelPath(), family(), backend);
    }

    static Model load(Path model, Family family, Backend backend) {
        Model m;
        try (Heartbeat _ = Heartbeat.toStderr("loading " + model, Log.quiet)) {
            m = ModelLoader.load(model, backend, family);
        }
        if (m.info().latentSpace().source().startsWith("assumed")) {
            Log.info("family " + m.info().latentSpace().describe());
        }
        return m;
    }

    /**
     * The model --model names, else the embedded default: the real TAEF2 (FLUX.2's tiny autoencoder, MIT) shipped
     * in the repository's models/ folder, so that the README's first commands need nothing downloaded.
     */
    Path modelPath() {
        if (model != null) {
            return sources.resolve(model);
        }
        Path fallback = defaultModel();
        if (!Files.isRegularFile(fallback)) {
            throw new UsageException("missing --model (the default model " + fallback + " is not there)");
        }
        Log.info("no --model: using the embedded default " + fallback + " (TAEF2, FLUX.2's tiny autoencoder)");
        return fallback;
    }

    /** models/taef2.safetensors under the vae4j folder (the launcher says where: -Dvae4j.home), else here. */
    static Path defaultModel() {
        String home = System.getProperty("vae4j.home");
        return (home == null ? Path.of("models") : Path.of(home, "models")).resolve("taef2.safetensors");
    }

    static void requireFile(Path p, String what) {
        if (!Files.isRegularFile(p)) {
            throw new VaeException(what + " " + p + ": no such file");
        }
    }
}
