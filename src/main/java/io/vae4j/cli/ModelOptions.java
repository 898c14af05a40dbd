package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.backend.BackendLog;
import io.vae4j.backend.Backends;
import io.vae4j.backend.Precision;
import io.vae4j.model.Family;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;

import java.nio.file.Path;
import java.util.Set;

/** The options every model-running command shares: which model, family, backend and threads. */
final class ModelOptions {
    static final Set<String> VALUES = Set.of("model", "family", "backend", "threads", "precision");

    private ModelOptions() {
    }

    static Family family(Args args) {
        String f = args.get("family");
        if (f == null) {
            return null;
        }
        Family family = Family.parse(f);
        if (family == null || family.latentChannels < 0) {
            throw new Args.UsageException("unknown --family '" + f + "' (expected one of: " + Family.ids() + ")");
        }
        return family;
    }

    static Backend backend(Args args) {
        BackendLog.quiet(Log.quiet);
        Precision precision;
        try {
            precision = Precision.parse(args.get("precision", "fp32"));
        } catch (VaeException e) {
            throw new Args.UsageException(e.getMessage());
        }
        Backend b = Backends.create(args.get("backend", "auto"), args.integer("threads", Backends.defaultThreads()),
                precision);
        Log.info("backend: " + b.name() + ", " + b.threads() + " thread(s), " + b.precision().id());
        return b;
    }

    static Model load(Args args, Backend backend) {
        Path model = modelPath(args);
        Model m = ModelLoader.load(model, backend, family(args));
        if (m.info().latentSpace().source().startsWith("assumed")) {
            Log.info("family " + m.info().latentSpace().describe());
        }
        return m;
    }

    /**
     * The model --model names, else the embedded default: the real TAEF2 (FLUX.2's tiny autoencoder, MIT) shipped
     * in the repository's models/ folder, so that the README's first commands need nothing downloaded.
     */
    static Path modelPath(Args args) {
        String m = args.get("model");
        if (m != null) {
            return Path.of(m);
        }
        Path fallback = defaultModel();
        if (!java.nio.file.Files.isRegularFile(fallback)) {
            throw new Args.UsageException("missing --model (the default model " + fallback + " is not there)");
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
        if (!java.nio.file.Files.isRegularFile(p)) {
            throw new VaeException(what + " " + p + ": no such file");
        }
    }
}
