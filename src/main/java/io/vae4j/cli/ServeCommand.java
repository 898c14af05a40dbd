package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.model.Family;
import io.vae4j.model.source.HubCache;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.pipeline.Heartbeat;
import io.vae4j.pipeline.Limits;
import io.vae4j.server.ServedModel;
import io.vae4j.server.ServerConfig;
import io.vae4j.server.VaeServer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** ./vae4j serve: the HTTP server (io.vae4j.server) over models loaded once. */
@Command(name = "serve",
        description = "Serve models over HTTP with the Hugging Face remote-VAE protocol (POST /decode, /encode).",
        customSynopsis = {
                "./vae4j serve --model [NAME=]PATH ... [--comfy-dir DIR] [--download] [--family [NAME=]F]",
                "         [--host 127.0.0.1] [--port 8080] [--max-concurrent N] [--max-queue N] [--threads N] [--memory SIZE] [--backend B]",
                "         [--precision fp32|bf16] [--request-timeout SECONDS] [--drain-timeout SECONDS]",
                "         [--max-pixels N] [--scratch DIR] [--no-warmup] [--no-cache] [--quiet]"},
        footer = {
                "  ./vae4j serve --model sd=vae.safetensors --port 8080",
                "  ./vae4j serve --model sdxl=madebyollin/sdxl-vae-fp16-fix --model preview=madebyollin/taesdxl",
                "  ./vae4j serve --model sd=vae-ft-mse.safetensors --model preview=taesd_decoder.safetensors",
                "  ./vae4j serve --model sdxl-vae/ --family sdxl --max-concurrent 2 --memory 8g",
                "  ./vae4j serve --model vae.safetensors --host 0.0.0.0       # no authentication: behind a proxy"})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "[NAME=]PATH", order = 1,
            description = "required, repeatable; the first is the default; NAME: the file or repository name")
    private List<String> models = new ArrayList<>();

    @Mixin
    private SourceOptions sources;

    @Option(names = "--family", paramLabel = "[NAME=]F", order = 2,
            description = "repeatable: ${COMPLETION-CANDIDATES}; F: the first model's (default: assumed)",
            completionCandidates = Choices.FamilyIds.class)
    private List<String> familySpecs = new ArrayList<>();

    @Option(names = "--host", paramLabel = "HOST", order = 3, defaultValue = "127.0.0.1",
            description = "where to listen; 0.0.0.0 serves other machines (default: ${DEFAULT-VALUE})")
    private String host;

    @Option(names = "--port", paramLabel = "PORT", order = 4, defaultValue = "8080",
            description = "0 picks a free one (default: ${DEFAULT-VALUE})")
    private int port;

    @Option(names = "--max-concurrent", paramLabel = "N", order = 5, defaultValue = "1",
            description = "requests computing at once, each with --threads (default: ${DEFAULT-VALUE})")
    private int maxConcurrent;

    @Option(names = "--max-queue", paramLabel = "N", order = 6, defaultValue = "16",
            description = "requests waiting; past that 429 (default: ${DEFAULT-VALUE})")
    private int maxQueue;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--memory", paramLabel = "SIZE", order = 40, defaultValue = "2g",
            description = "the budget shared by the computing requests (default: ${DEFAULT-VALUE})")
    private String memory;

    @Option(names = "--request-timeout", paramLabel = "SECONDS", order = 41, defaultValue = "300",
            description = "answer 503 and stop the work after this long (default: ${DEFAULT-VALUE})")
    private int requestTimeout;

    @Option(names = "--drain-timeout", paramLabel = "SECONDS", order = 42, defaultValue = "30",
            description = "on SIGTERM, wait this long for requests in flight (default: ${DEFAULT-VALUE})")
    private int drainTimeout;

    @Option(names = "--max-pixels", paramLabel = "N", order = 43,
            description = "refuse larger images with 413 (default: 4096x4096)")
    private Long maxPixels;

    @Option(names = "--scratch", paramLabel = "DIR", order = 44,
            description = "where exact mode's scratch files go (default: java.io.tmpdir)")
    private Path scratch;

    @Option(names = "--no-warmup", order = 45,
            description = "skip the start-up run of each model that prepares its weights and compiles the kernels")
    private boolean noWarmup;

    @Option(names = "--quiet", order = 90, description = "no request log or notes on stderr, errors only")
    private boolean quiet;

    @Override
    public Integer call() {
        Log.quiet |= quiet;
        Map<String, Path> paths = modelPaths(models, sources);
        Map<String, Family> families = families(familySpecs, paths);
        if (port < 0 || port > 65535) {
            throw new UsageException("--port must be 0 to 65535, got " + port);
        }
        ServerConfig config = new ServerConfig(host, port,
                positive("--max-concurrent", maxConcurrent), nonNegative("--max-queue", maxQueue),
                Tiling.parseSize(memory, "--memory"),
                Duration.ofSeconds(positive("--request-timeout", requestTimeout)),
                Duration.ofSeconds(nonNegative("--drain-timeout", drainTimeout)),
                maxPixels != null ? maxPixels : Limits.DEFAULT_MAX_PIXELS,
                scratch != null ? scratch : Path.of(System.getProperty("java.io.tmpdir")), !Log.quiet);
        if (config.maxPixels() <= 0) {
            throw new UsageException("--max-pixels must be positive");
        }

        Backend backend = backendOptions.create();
        VaeServer server = VaeServer.start(config, line -> System.err.println("vae4j: " + line));
        List<Model> loaded = new ArrayList<>();
        try {
            List<ServedModel> served = new ArrayList<>();
            for (Map.Entry<String, Path> e : paths.entrySet()) {
                long start = System.nanoTime();
                Model m;
                try (Heartbeat _ = Heartbeat.toStderr("loading model " + e.getKey(), Log.quiet)) {
                    m = ModelLoader.load(e.getValue(), backend, families.get(e.getKey()));
                }
                loaded.add(m);
                ServedModel s = new ServedModel(e.getKey(), m, families.get(e.getKey()));
                if (!noWarmup) {
                    try (Heartbeat _ = Heartbeat.toStderr("warming up model " + e.getKey(), Log.quiet)) {
                        s.warmUp();
                    }
                }
                served.add(s);
                Log.info(String.format("model %s: %s, %s, %s (%.1f s%s)", e.getKey(), e.getValue(),
                        m.info().architecture().split(" ")[0], m.info().latentSpace().describe(),
                        (System.nanoTime() - start) / 1e9, noWarmup ? "" : ", warmed up"));
            }
            server.ready(served);
        } catch (RuntimeException | Error e) {
            server.close();
            loaded.forEach(Model::close);
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Log.info("draining: no new requests; waiting up to " + config.drainTimeout().toSeconds()
                    + " s for those in flight");
            boolean clean = server.drain();
            Log.info(clean ? "stopped" : "stopped with requests still in flight after the drain timeout");
            server.close();
            System.err.flush();
            System.out.flush();
            stopped.countDown();
            // SIGTERM ends a JVM with status 143; a drained server has shut down as asked, so it exits 0.
            Runtime.getRuntime().halt(clean ? 0 : 1);
        }, "vae4j-drain"));
        System.out.println("listening on http://" + hostForUrl(config.host()) + ":" + server.port());
        System.out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static String hostForUrl(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /**
     * --model [NAME=]MODEL, repeated; NAME defaults to the file or folder name without its extension, or the
     * repository's name for ORG/NAME.
     */
    static Map<String, Path> modelPaths(List<String> specs, SourceOptions sources) {
        if (specs.isEmpty()) {
            throw new UsageException("missing --model (serve needs at least one)");
        }
        Map<String, Path> out = new LinkedHashMap<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            String model = eq > 0 ? spec.substring(eq + 1) : spec;
            String name = eq > 0 ? spec.substring(0, eq) : defaultName(model);
            if (!name.matches("[A-Za-z0-9._-]+")) {
                throw new UsageException("--model name '" + name + "' may only hold letters, digits, '.', '_'"
                        + " and '-' (it goes in URLs)");
            }
            if (out.containsKey(name)) {
                throw new UsageException("two models named '" + name + "'; name them: --model NAME=PATH");
            }
            out.put(name, sources.resolve(model));
        }
        return out;
    }

    private static String defaultName(String model) {
        HubCache.Ref ref = Files.exists(Path.of(model)) ? null : HubCache.Ref.parse(model);
        if (ref != null) {
            return ref.repo().substring(ref.repo().indexOf('/') + 1);
        }
        Path file = Path.of(model).toAbsolutePath().normalize().getFileName();
        String name = file == null ? "model" : file.toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && !Files.isDirectory(Path.of(model)) ? name.substring(0, dot) : name;
    }

    /** --family NAME=F, repeated, or a plain F for the default (first) model. */
    private static Map<String, Family> families(List<String> specs, Map<String, Path> models) {
        Map<String, Family> out = new HashMap<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            String name = eq > 0 ? spec.substring(0, eq) : models.keySet().iterator().next();
            String id = eq > 0 ? spec.substring(eq + 1) : spec;
            if (!models.containsKey(name)) {
                throw new UsageException("--family " + spec + ": no model named '" + name + "' (models: "
                        + String.join(", ", models.keySet()) + ")");
            }
            Family f = Family.parse(id);
            if (f == null || f.latentChannels < 0) {
                throw new UsageException("unknown --family '" + id + "' (expected one of: " + Family.ids() + ")");
            }
            out.put(name, f);
        }
        return out;
    }

    private static int positive(String option, int value) {
        if (value < 1) {
            throw new UsageException(option + " must be at least 1, got " + value);
        }
        return value;
    }

    private static int nonNegative(String option, int value) {
        if (value < 0) {
            throw new UsageException(option + " must be 0 or more, got " + value);
        }
        return value;
    }
}
