package io.vae4j.server;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/** The server's counters, rendered in the Prometheus text format (version 0.0.4) by {@link #render}. */
final class Metrics {
    /** Latency histogram bucket bounds, seconds: from a TAESD preview to a large exact decode. */
    private static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
            300};

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> rejected = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final IntSupplier queued;
    private final IntSupplier inFlight;

    Metrics(IntSupplier queued, IntSupplier inFlight) {
        this.queued = queued;
        this.inFlight = inFlight;
    }

    /** One finished request. */
    void request(String route, String model, int status, double seconds, long in, long out) {
        requests.computeIfAbsent(labels("route", route, "model", model, "status", Integer.toString(status)),
                k -> new LongAdder()).increment();
        latency.computeIfAbsent(labels("route", route), k -> new Histogram()).observe(seconds);
        bytesIn.add(in);
        bytesOut.add(out);
    }

    /** One request refused or abandoned: "queue_full", "too_large", "timeout", "draining", "disconnected". */
    void rejected(String reason) {
        rejected.computeIfAbsent(labels("reason", reason), k -> new LongAdder()).increment();
    }

    String render() {
        StringBuilder sb = new StringBuilder(4096);
        counter(sb, "vae4j_requests_total", "Requests answered, by route, model and status.", requests);
        counter(sb, "vae4j_rejected_total", "Requests refused or abandoned, by reason.", rejected);
        gauge(sb, "vae4j_queue_depth", "Admitted requests waiting for a compute slot.", queued.getAsInt());
        gauge(sb, "vae4j_in_flight", "Requests computing now.", inFlight.getAsInt());
        sb.append("# HELP vae4j_request_duration_seconds Time from request to last response byte, by route.\n");
        sb.append("# TYPE vae4j_request_duration_seconds histogram\n");
        new TreeMap<>(latency).forEach((l, h) -> h.render(sb, "vae4j_request_duration_seconds", l));
        sb.append("# HELP vae4j_request_bytes_total Request body bytes received.\n");
        sb.append("# TYPE vae4j_request_bytes_total counter\n");
        sb.append("vae4j_request_bytes_total ").append(bytesIn.sum()).append('\n');
        sb.append("# HELP vae4j_response_bytes_total Response bytes sent, headers included.\n");
        sb.append("# TYPE vae4j_response_bytes_total counter\n");
        sb.append("vae4j_response_bytes_total ").append(bytesOut.sum()).append('\n');
        return sb.toString();
    }

    private static void counter(StringBuilder sb, String name, String help, Map<String, LongAdder> series) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(" counter\n");
        new TreeMap<>(series).forEach((l, v) -> sb.append(name).append(l).append(' ').append(v.sum()).append('\n'));
    }

    private static void gauge(StringBuilder sb, String name, String help, long value) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(" gauge\n");
        sb.append(name).append(' ').append(value).append('\n');
    }

    /** {@code {a="x",b="y"}} with label values escaped. */
    private static String labels(String... kv) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            sb.append(i == 0 ? "" : ",").append(kv[i]).append("=\"")
                    .append(kv[i + 1].replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append('"');
        }
        return sb.append('}').toString();
    }

    private static final class Histogram {
        private final AtomicLong[] counts = new AtomicLong[BUCKETS.length];
        private final LongAdder count = new LongAdder();
        private final DoubleAdder sum = new DoubleAdder();

        Histogram() {
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new AtomicLong();
            }
        }

        void observe(double seconds) {
            for (int i = 0; i < BUCKETS.length; i++) {
                if (seconds <= BUCKETS[i]) {
                    counts[i].incrementAndGet();
                }
            }
            count.increment();
            sum.add(seconds);
        }

        void render(StringBuilder sb, String name, String labels) {
            String inner = labels.substring(1, labels.length() - 1);
            for (int i = 0; i < BUCKETS.length; i++) {
                sb.append(name).append("_bucket{").append(inner).append(",le=\"")
                        .append(String.format(Locale.ROOT, "%s", BUCKETS[i])).append("\"} ").append(counts[i].get())
                        .append('\n');
            }
            sb.append(name).append("_bucket{").append(inner).append(",le=\"+Inf\"} ").append(count.sum()).append('\n');
            sb.append(name).append("_sum").append(labels).append(' ').append(sum.sum()).append('\n');
            sb.append(name).append("_count").append(labels).append(' ').append(count.sum()).append('\n');
        }
    }
}
