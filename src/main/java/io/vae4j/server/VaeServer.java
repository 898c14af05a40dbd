package io.vae4j.server;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.vae4j.VaeException;
import io.vae4j.format.MappedWeightFiles;
import io.vae4j.format.json.Json;
import io.vae4j.util.Cancellation;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * {@code ./vae4j serve}: the Hugging Face remote-VAE protocol over HTTP (Helidon SE, a virtual thread per request),
 * with admission control, Prometheus metrics, health and a graceful drain. Requests are parsed and checked on
 * their own threads; the decode or encode itself, and the writing of its response, run on one of
 * {@code maxConcurrent} platform compute threads, so memory stays within the budget however many clients wait.
 * The protocol itself (what each route reads and writes) is in {@link RemoteVae}.
 */
public final class VaeServer implements AutoCloseable {
    enum State { LOADING, READY, DRAINING }

    /**
     * Helidon logs through java.util.logging: start-up and shutdown at INFO (the server prints its own lines), and
     * its warnings with stack traces. Warnings and errors are kept as one line each on stderr.
     */
    private static final Logger HELIDON_LOG = Logger.getLogger("io.helidon");

    static {
        HELIDON_LOG.setLevel(Level.WARNING);
        HELIDON_LOG.setUseParentHandlers(false);
        HELIDON_LOG.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (isLoggable(r)) {
                    Throwable t = r.getThrown();
                    System.err.println("vae4j: http: " + r.getLevel().getName().toLowerCase(Locale.ROOT) + ": "
                            + r.getMessage() + (t == null ? "" : " (" + rootMessage(t) + ")"));
                }
            }

            @Override
            public void flush() {
                System.err.flush();
            }

            @Override
            public void close() {
            }
        });
    }

    private final ServerConfig config;
    private final Consumer<String> log;
    private final Admission admission;
    private final Metrics metrics;
    private final ExecutorService compute;
    private final RemoteVae remote;
    private final HangupWatch hangups = new HangupWatch();
    private final WebServer web;
    private volatile State state = State.LOADING;
    private volatile Map<String, ServedModel> models = Map.of();
    private volatile String defaultModel;

    private VaeServer(ServerConfig config, Consumer<String> log) {
        this.config = config;
        this.log = log;
        this.admission = new Admission(config.maxConcurrent(), config.maxQueue());
        this.metrics = new Metrics(admission::queued, admission::running);
        this.compute = Executors.newFixedThreadPool(config.maxConcurrent(), r -> {
            Thread t = new Thread(r, "vae4j-compute");
            t.setDaemon(true);
            return t;
        });
        this.remote = new RemoteVae(config, log);
        this.web = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .maxPayloadSize(config.maxBody())
                .idleConnectionTimeout(Duration.ofMinutes(5))
                .shutdownHook(false)
                .shutdownGracePeriod(Duration.ofMillis(500))
                .routing(this::routes)
                .directHandlers(jsonDirectHandlers())
                .build();
    }

    /**
     * Starts listening; until {@link #ready} the health check answers 503 and model routes 503 "loading".
     *
     * @throws VaeException when the port cannot be bound
     */
    public static VaeServer start(ServerConfig config, Consumer<String> log) {
        VaeServer s = new VaeServer(config, log);
        // A port in use is reported once, below, not also as Helidon's SEVERE line.
        HELIDON_LOG.setLevel(Level.OFF);
        try {
            s.web.start();
        } catch (RuntimeException e) {
            s.closeQuietly();
            throw new VaeException("cannot listen on " + config.host() + ":" + config.port() + ": "
                    + rootMessage(e), e);
        } finally {
            HELIDON_LOG.setLevel(Level.WARNING);
        }
        if (!s.web.isRunning()) {
            // A failed bind leaves Helidon with a server that is not running, and no exception.
            s.closeQuietly();
            throw new VaeException("cannot listen on " + config.host() + ":" + config.port()
                    + " (address in use, or not an address of this machine)");
        }
        return s;
    }

    /** Serves these models from now on; the first is the default. */
    public void ready(List<ServedModel> loaded) {
        Map<String, ServedModel> m = new LinkedHashMap<>();
        for (ServedModel s : loaded) {
            m.put(s.name(), s);
        }
        models = java.util.Collections.unmodifiableMap(m);
        defaultModel = loaded.getFirst().name();
        state = State.READY;
    }

    public int port() {
        return web.port();
    }

    /**
     * Stops taking requests (health and new requests answer 503), waits up to the drain timeout for those admitted
     * to finish, then closes the listener. Returns whether every request finished in time.
     */
    public boolean drain() {
        state = State.DRAINING;
        long deadline = System.nanoTime() + config.drainTimeout().toNanos();
        while (admission.running() + admission.queued() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean clean = admission.running() + admission.queued() == 0;
        web.stop();
        compute.shutdownNow();
        hangups.close();
        return clean;
    }

    private void closeQuietly() {
        compute.shutdownNow();
        hangups.close();
    }

    @Override
    public void close() {
        if (web.isRunning()) {
            web.stop();
        }
        compute.shutdownNow();
        hangups.close();
        for (ServedModel m : models.values()) {
            m.model().close();
        }
    }

    /**
     * Errors Helidon answers itself, before routing (a malformed request line or header, a body over the payload
     * limit): a JSON body too, like every other error.
     */
    private static DirectHandlers jsonDirectHandlers() {
        DirectHandler json = (req, event, status, headers, message) -> DirectHandler.TransportResponse.builder()
                .status(status)
                .headers(headers)
                .header(HeaderNames.CONTENT_TYPE, "application/json")
                .entity(Json.write(Map.of("error", message == null || message.isBlank() ? status.reasonPhrase()
                        : message)))
                .build();
        DirectHandlers.Builder b = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            b.addHandler(type, json);
        }
        return b.build();
    }

    private void routes(HttpRouting.Builder r) {
        r.any("/decode", (req, res) -> model(req, res, "decode", null));
        r.any("/encode", (req, res) -> model(req, res, "encode", null));
        r.any("/models/{name}/decode", (req, res) -> model(req, res, "decode", name(req)));
        r.any("/models/{name}/encode", (req, res) -> model(req, res, "encode", name(req)));
        r.any("/v1/models", (req, res) -> simple(req, res, "models", this::listModels));
        r.any("/health", (req, res) -> simple(req, res, "health", this::health));
        r.any("/metrics", (req, res) -> simple(req, res, "metrics", this::metrics));
        r.any("/", (req, res) -> model(req, res, "decode", null));
        r.any((req, res) -> simple(req, res, "unknown", (q, s) -> {
            throw new HttpError(404, "no route " + req.prologue().method().text() + " " + req.path().rawPath()
                    + " (POST /decode, /encode, /models/NAME/decode, /models/NAME/encode; GET /v1/models, /health,"
                    + " /metrics)");
        }));
        r.error(Throwable.class, (req, res, e) -> {
            log.accept("error: internal failure on " + req.path().rawPath() + ": " + e);
            if (!res.isSent()) {
                sendJson(res, 500, "internal error: " + e.getClass().getSimpleName(), 0);
            }
        });
    }

    private static String name(ServerRequest req) {
        return req.path().pathParameters().get("name");
    }

    /** One request's bookkeeping: its route and model for the metrics and the access log. */
    private final class Call {
        final long start = System.nanoTime();
        final ServerRequest req;
        final String route;
        String model = "";
        long bytesIn;
        int status = 200;

        Call(ServerRequest req, String route) {
            this.req = req;
            this.route = route;
        }

        void finish(ServerResponse res) {
            double seconds = (System.nanoTime() - start) / 1e9;
            long out = res.bytesWritten();
            metrics.request(route, model, status, seconds, bytesIn, out);
            if (config.accessLog()) {
                String q = req.query().rawValue();
                log.accept(String.format(Locale.ROOT, "%s %s %s%s %d %dB in %dB out %.3fs%s",
                        req.remotePeer().host(), req.prologue().method().text(), req.path().rawPath(),
                        q.isEmpty() ? "" : "?" + q, status, bytesIn, out, seconds,
                        model.isEmpty() ? "" : " model=" + model));
            }
        }
    }

    private interface Simple {
        void handle(ServerRequest req, ServerResponse res);
    }

    /** A GET route that answers at once, outside admission control. */
    private void simple(ServerRequest req, ServerResponse res, String route, Simple handler) {
        Call call = new Call(req, route);
        try {
            if (!route.equals("unknown") && req.prologue().method() != Method.GET
                    && req.prologue().method() != Method.HEAD) {
                res.header(HeaderNames.ALLOW, "GET");
                throw new HttpError(405, req.prologue().method().text() + " " + req.path().rawPath()
                        + " is not allowed (GET)");
            }
            handler.handle(req, res);
            call.status = res.status().code();
        } catch (HttpError e) {
            call.status = e.status;
            sendJson(res, e.status, e.getMessage(), e.retryAfter);
        } finally {
            call.finish(res);
        }
    }

    private void health(ServerRequest req, ServerResponse res) {
        switch (state) {
            case READY -> res.header(HeaderNames.CONTENT_TYPE, "text/plain").send("Ok");
            case LOADING -> throw new HttpError(503, "loading models", 1);
            case DRAINING -> throw new HttpError(503, "shutting down");
        }
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8").send(metrics.render());
    }

    private void listModels(ServerRequest req, ServerResponse res) {
        List<Object> data = new ArrayList<>();
        for (ServedModel m : models.values()) {
            data.add(m.describe(m.name().equals(defaultModel)));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("object", "list");
        body.put("data", data);
        res.header(HeaderNames.CONTENT_TYPE, "application/json").send(Json.write(body));
    }

    /** POST decode or encode on a model: checks, admission, body, then the work on a compute thread. */
    private void model(ServerRequest req, ServerResponse res, String route, String modelName) {
        Call call = new Call(req, route);
        try {
            if (req.prologue().method() != Method.POST) {
                res.header(HeaderNames.ALLOW, "POST");
                throw new HttpError(405, req.prologue().method().text() + " " + req.path().rawPath()
                        + " is not allowed (POST)");
            }
            ServedModel m = find(modelName != null ? modelName : req.query().first("model").orElse(null));
            call.model = m.name();
            Query q = new Query(name -> req.query().all(name, List::of));
            RemoteVae.Prepared work = route.equals("decode")
                    ? remote.prepareDecode(q, req.headers().first(HeaderNames.ACCEPT).orElse(null), m)
                    : remote.prepareEncode(q, m);
            long declared = req.headers().contentLength().orElse(-1);
            work.checkDeclaredLength(declared);
            Admission.Ticket ticket = admission.tryEnter();
            if (ticket == null) {
                metrics.rejected("queue_full");
                throw new HttpError(429, "server busy: " + admission.maxConcurrent() + " requests computing and "
                        + admission.maxQueue() + " waiting; retry later", 1);
            }
            byte[] body;
            try {
                body = readBody(req, work.maxBodyBytes());
                call.bytesIn = body.length;
                work.checkBody(body);
            } catch (RuntimeException e) {
                ticket.close();
                throw e;
            }
            run(call, ticket, req, res, claim -> work.run(body, res, claim));
        } catch (HttpError e) {
            call.status = e.status;
            if (e.status == 413) {
                metrics.rejected("too_large");
            }
            if (!req.content().consumed()) {
                // Refused before its body was read: closing beats reading (and discarding) what may be large.
                res.header(HeaderValues.CONNECTION_CLOSE);
            }
            if (!res.isSent()) {
                sendJson(res, e.status, e.getMessage(), e.retryAfter);
            }
        } finally {
            call.finish(res);
        }
    }

    private ServedModel find(String name) {
        switch (state) {
            case LOADING -> throw new HttpError(503, "loading models", 1);
            case DRAINING -> {
                metrics.rejected("draining");
                throw new HttpError(503, "shutting down");
            }
            default -> {
            }
        }
        ServedModel m = models.get(name == null || name.isEmpty() ? defaultModel : name);
        if (m == null) {
            throw new HttpError(404, "no model '" + name + "' (this server has: "
                    + String.join(", ", models.keySet()) + ")");
        }
        return m;
    }

    /** Reads at most {@code max} bytes of the body; one more is a 413. */
    private static byte[] readBody(ServerRequest req, long max) {
        try (InputStream in = req.content().inputStream()) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8L, max + 1));
            if (b.length > max) {
                throw new HttpError(413, "request body is larger than the " + max + " bytes this request can take");
            }
            return b;
        } catch (IOException | RuntimeException e) {
            // A client that stops sending mid-body, or sends a malformed chunk.
            throw e instanceof HttpError h ? h : new HttpError(400, "cannot read the request body: " + rootMessage(e));
        }
    }

    /** The work of one admitted request: it claims the response (sets the flag) before writing any of it. */
    interface Job {
        void run(AtomicBoolean claim) throws IOException;
    }

    /**
     * Runs a job on a compute thread and waits for it until the request's deadline. A request that times out is
     * cancelled (its slot frees within one kernel) and answered 503 if its job had not started responding; a job
     * that fails before responding is answered with its error.
     */
    private void run(Call call, Admission.Ticket ticket, ServerRequest req, ServerResponse res, Job job) {
        Cancellation cancel = new Cancellation();
        AtomicBoolean claimed = new AtomicBoolean();
        try (HangupWatch.Watch _ = hangups.watch(req.localPeer().address(), req.remotePeer().address(), cancel)) {
            compute(call, ticket, res, job, cancel, claimed);
        }
        if (!claimed.get()) {
            // The job gave up before responding: the client went away while it waited or computed.
            metrics.rejected("disconnected");
            throw new HttpError(503, cancel.cancelled() ? "cancelled: " + cancel.reason() : "no response");
        }
    }

    private void compute(Call call, Admission.Ticket ticket, ServerResponse res, Job job, Cancellation cancel,
                         AtomicBoolean claimed) {
        Future<?> f;
        try {
            f = compute.submit(() -> {
                try {
                    if (cancel.cancelled()) {
                        return null;
                    }
                    ticket.computing();
                    return cancel.run(() -> {
                        try {
                            job.run(claimed);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        return null;
                    });
                } finally {
                    ticket.close();
                }
            });
        } catch (RejectedExecutionException e) {
            ticket.close();
            throw new HttpError(503, "shutting down");
        }
        long deadline = call.start + config.requestTimeout().toNanos();
        try {
            f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            String why = "request timed out after " + config.requestTimeout().toSeconds() + " s";
            cancel.cancel(why);
            metrics.rejected("timeout");
            if (claimed.compareAndSet(false, true)) {
                throw new HttpError(503, why, 1);
            }
            awaitQuietly(f);
            throw new IllegalStateException(why + " while the response was being sent");
        } catch (InterruptedException e) {
            cancel.cancel("server interrupted");
            Thread.currentThread().interrupt();
            throw new HttpError(503, "shutting down");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Cancellation.Cancelled && cancel.cancelled() && !claimed.get()) {
                metrics.rejected("disconnected");
            }
            if (claimed.get()) {
                // Part of the response is on its way: the connection is cut so the client sees a truncated
                // response, never a complete wrong one.
                throw new IllegalStateException("failed while sending the response: " + rootMessage(c), c);
            }
            throw toHttpError(c);
        }
    }

    private HttpError toHttpError(Throwable c) {
        return switch (c) {
            case HttpError h -> h;
            case Cancellation.Cancelled x -> new HttpError(503, x.getMessage(), 1);
            case VaeException v -> new HttpError(400, v.getMessage());
            case OutOfMemoryError o -> new HttpError(503, "out of memory; retry later or with a smaller input", 5);
            case InternalError ie when MappedWeightFiles.isMappingFault(ie) -> {
                // A model file truncated or rewritten in place under the server: its requests fail, each naming it.
                String why = MappedWeightFiles.explain();
                log.accept("error: " + why);
                yield new HttpError(500, why);
            }
            default -> {
                log.accept("error: " + c);
                yield new HttpError(500, "internal error: " + c.getClass().getSimpleName());
            }
        };
    }

    private static void awaitQuietly(Future<?> f) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            // already reported
        }
    }

    static void sendJson(ServerResponse res, int status, String message, int retryAfter) {
        res.status(Status.create(status));
        if (retryAfter > 0) {
            res.header(HeaderNames.RETRY_AFTER, Integer.toString(retryAfter));
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.write(Map.of("error", message)));
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
