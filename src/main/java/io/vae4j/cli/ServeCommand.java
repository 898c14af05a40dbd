package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.model.Family;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.pipeline.Limits;
import io.vae4j.server.ServedModel;
import io.vae4j.server.ServerConfig;
import io.vae4j.server.VaeServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** ./vae4j serve: the HTTP server (io.vae4j.server) over models loaded once. */
final class ServeCommand {
    static final String USAGE = "serve --model [NAME=]PATH ... [--family NAME=F] [--host 127.0.0.1] [--port 8080]"
            + " [--max-concurrent N] [--max-queue N] [--threads N] [--memory SIZE] [--backend B]"
            + " [--precision fp32|bf16] [--request-timeout SECONDS] [--drain-timeout SECONDS] [--max-pixels N]"
            + " [--scratch DIR] [--quiet]";

    private ServeCommand() {
    }

    static void run(String[] argv) {
        Args args = new Args(argv, 1, Set.of("model", "family", "host", "port", "max-concurrent", "max-queue",
                "threads", "memory", "backend", "precision", "request-timeout", "drain-timeout", "max-pixels",
                "scratch"), Set.of("quiet"));
        Log.quiet |= args.flag("quiet");
        Map<String, Path> paths = modelPaths(args.all("model"));
        Map<String, Family> families = families(args.all("family"), paths);
        int port = args.integer("port", 8080);
        if (port < 0 || port > 65535) {
            throw new Args.UsageException("--port must be 0 to 65535, got " + port);
        }
        ServerConfig config = new ServerConfig(args.get("host", "127.0.0.1"), port,
                positive(args, "max-concurrent", 1), nonNegative(args, "max-queue", 16),
                Tiling.parseSize(args.get("memory", "2g"), "--memory"),
                Duration.ofSeconds(positive(args, "request-timeout", 300)),
                Duration.ofSeconds(nonNegative(args, "drain-timeout", 30)),
                args.longValue("max-pixels", Limits.DEFAULT_MAX_PIXELS),
                Path.of(args.get("scratch", System.getProperty("java.io.tmpdir"))), !Log.quiet);
        if (config.maxPixels() <= 0) {
            throw new Args.UsageException("--max-pixels must be positive");
        }

        Backend backend = ModelOptions.backend(args);
        VaeServer server = VaeServer.start(config, line -> System.err.println("vae4j: " + line));
        List<Model> loaded = new ArrayList<>();
        try {
            List<ServedModel> served = new ArrayList<>();
            for (Map.Entry<String, Path> e : paths.entrySet()) {
                long start = System.nanoTime();
                Model m = ModelLoader.load(e.getValue(), backend, families.get(e.getKey()));
                loaded.add(m);
                served.add(new ServedModel(e.getKey(), m, families.get(e.getKey())));
                Log.info(String.format("model %s: %s, %s, %s (%.1f s)", e.getKey(), e.getValue(),
                        m.info().architecture().split(" ")[0], m.info().latentSpace().describe(),
                        (System.nanoTime() - start) / 1e9));
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
    }

    private static String hostForUrl(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** --model [NAME=]PATH, repeated; NAME defaults to the file or folder name without its extension. */
    static Map<String, Path> modelPaths(List<String> specs) {
        if (specs.isEmpty()) {
            throw new Args.UsageException("missing --model (serve needs at least one)");
        }
        Map<String, Path> out = new LinkedHashMap<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            Path path = Path.of(eq > 0 ? spec.substring(eq + 1) : spec);
            String name = eq > 0 ? spec.substring(0, eq) : defaultName(path);
            if (!name.matches("[A-Za-z0-9._-]+")) {
                throw new Args.UsageException("--model name '" + name + "' may only hold letters, digits, '.', '_'"
                        + " and '-' (it goes in URLs)");
            }
            if (out.containsKey(name)) {
                throw new Args.UsageException("two models named '" + name + "'; name them: --model NAME=PATH");
            }
            if (!Files.exists(path)) {
                throw new VaeException("model " + path + ": no such file or folder");
            }
            out.put(name, path);
        }
        return out;
    }

    private static String defaultName(Path path) {
        Path file = path.toAbsolutePath().normalize().getFileName();
        String name = file == null ? "model" : file.toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && !Files.isDirectory(path) ? name.substring(0, dot) : name;
    }

    /** --family NAME=F, repeated, or a plain F for the default (first) model. */
    private static Map<String, Family> families(List<String> specs, Map<String, Path> models) {
        Map<String, Family> out = new HashMap<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            String name = eq > 0 ? spec.substring(0, eq) : models.keySet().iterator().next();
            String id = eq > 0 ? spec.substring(eq + 1) : spec;
            if (!models.containsKey(name)) {
                throw new Args.UsageException("--family " + spec + ": no model named '" + name + "' (models: "
                        + String.join(", ", models.keySet()) + ")");
            }
            Family f = Family.parse(id);
            if (f == null || f.latentChannels < 0) {
                throw new Args.UsageException("unknown --family '" + id + "' (expected one of: " + Family.ids() + ")");
            }
            out.put(name, f);
        }
        return out;
    }

    private static int positive(Args args, String name, int fallback) {
        int v = args.integer(name, fallback);
        if (v < 1) {
            throw new Args.UsageException("--" + name + " must be at least 1, got " + v);
        }
        return v;
    }

    private static int nonNegative(Args args, String name, int fallback) {
        int v = args.integer(name, fallback);
        if (v < 0) {
            throw new Args.UsageException("--" + name + " must be 0 or more, got " + v);
        }
        return v;
    }
}
