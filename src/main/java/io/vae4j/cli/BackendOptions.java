package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.backend.BackendLog;
import io.vae4j.backend.Backends;
import io.vae4j.backend.Precision;
import io.vae4j.backend.PreparedCache;
import picocli.CommandLine.Option;

/** --threads, --backend, --precision and --no-cache: what runs the model, in every command that runs one. */
final class BackendOptions {
    @Option(names = "--threads", paramLabel = "N", order = 30,
            description = "worker threads (default: all cores)")
    Integer threads;

    @Option(names = "--backend", paramLabel = "B", order = 31, defaultValue = "auto",
            completionCandidates = Choices.BackendNames.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}, which picks java)")
    String backend;

    @Option(names = "--precision", paramLabel = "fp32|bf16", order = 32, defaultValue = "fp32",
            completionCandidates = Choices.PrecisionNames.class,
            description = "the convolutions' arithmetic; bf16 runs on oneDNN (default: ${DEFAULT-VALUE})")
    String precision;

    @Option(names = "--no-cache", order = 33,
            description = "neither read nor write prepared weights in the cache ($XDG_CACHE_HOME/vae4j)")
    boolean noCache;

    Backend create() {
        BackendLog.quiet(Log.quiet);
        if (noCache) {
            PreparedCache.setEnabled(false);
        }
        Precision p;
        try {
            p = Precision.parse(precision);
        } catch (VaeException e) {
            throw new UsageException(e.getMessage());
        }
        Backend b = Backends.create(backend, threads != null ? threads : Backends.defaultThreads(), p);
        Log.info("backend: " + b.name() + ", " + b.threads() + " thread(s), " + b.precision().id());
        return b;
    }
}
