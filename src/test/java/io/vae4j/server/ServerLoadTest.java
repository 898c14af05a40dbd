package io.vae4j.server;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.json.Json;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.vae4j.server.ServerTest.assertJsonError;
import static io.vae4j.server.ServerTest.f32;
import static io.vae4j.server.ServerTest.floats;
import static io.vae4j.server.ServerTest.get;
import static io.vae4j.server.ServerTest.http;
import static io.vae4j.server.ServerTest.maxDiff;
import static io.vae4j.server.ServerTest.post;
import static io.vae4j.server.ServerTest.shapeQuery;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Admission control under load, on loopback, bounded: one request computes and one waits; the rest are shed with
 * 429 and none is lost or corrupted; a request past its timeout gets 503 and gives its slot back within a kernel.
 */
class ServerLoadTest {
    @TempDir
    static Path dir;
    static VectorBackend backend;
    static Model model;

    @BeforeAll
    static void load() {
        backend = new VectorBackend(2);
        model = ModelLoader.load(TestModels.kl(dir, 4), backend, null);
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    private static VaeServer start(int queue, Duration timeout) {
        VaeServer s = VaeServer.start(new ServerConfig("127.0.0.1", 0, 1, queue, 1L << 30, timeout,
                Duration.ofSeconds(5), 4096L * 4096, dir, false), line -> { });
        // The model stays open across servers: ServedModel closing is the server's only at close().
        s.ready(List.of(new ServedModel("kl", model, null)));
        return s;
    }

    private static double gauge(VaeServer s, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(new String(get(s, "/metrics").body()));
        assertTrue(m.find(), name);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void overloadIsShedWith429AndNoResponseIsLostOrCorrupted() throws Exception {
        VaeServer s = start(1, Duration.ofSeconds(120));
        String path = "/decode?output_type=pt&dtype=float32" + shapeQuery(1, 4, 40, 40);
        int clients = 6;
        // A different latent per client, each with its answer decoded alone first: a response mixed up with
        // another's, or cut short, cannot pass for its own.
        try {
            List<byte[]> bodies = new ArrayList<>();
            List<float[]> references = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                try (Tensor z = TestModels.random(100 + i, 2f, 1, 4, 40, 40)) {
                    bodies.add(f32(z));
                }
                references.add(floats(post(s, path, bodies.get(i)).body()));
            }
            List<CompletableFuture<HttpResponse<byte[]>>> inFlight = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                inFlight.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
                        .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofByteArray(bodies.get(i)))
                        .build(), HttpResponse.BodyHandlers.ofByteArray()));
            }
            int ok = 0, shed = 0;
            for (int i = 0; i < clients; i++) {
                HttpResponse<byte[]> r = inFlight.get(i).get();
                if (r.statusCode() == 200) {
                    ok++;
                    // Within the decoder's run-to-run noise while its kernels are still being compiled.
                    float d = maxDiff(references.get(i), floats(r.body()));
                    assertTrue(d <= 5e-5f, "response " + i + " differs from its latent's decode by " + d);
                } else {
                    shed++;
                    assertJsonError(r, 429, "server busy");
                    assertEquals("1", r.headers().firstValue("retry-after").orElse(null));
                }
            }
            assertEquals(clients, ok + shed);
            assertTrue(ok >= 2, ok + " answered");
            assertTrue(shed >= 1, shed + " shed");
            String metrics = new String(get(s, "/metrics").body());
            assertTrue(metrics.contains("vae4j_rejected_total{reason=\"queue_full\"} " + shed), metrics);
            assertEquals(0, gauge(s, "vae4j_in_flight"));
            assertEquals(0, gauge(s, "vae4j_queue_depth"));
        } finally {
            s.drain();
        }
    }

    @Test
    void aClientThatHangsUpFreesItsSlot() throws Exception {
        VaeServer s = start(1, Duration.ofSeconds(120));
        try (Tensor big = TestModels.random(14, 2f, 1, 4, 128, 128)) {
            byte[] body = f32(big);
            try (Socket socket = new Socket("127.0.0.1", s.port())) {
                OutputStream out = socket.getOutputStream();
                out.write(("POST /decode?output_type=pt&dtype=float32" + shapeQuery(1, 4, 128, 128) + " HTTP/1.1\r\n"
                        + "Host: 127.0.0.1\r\nContent-Type: tensor/binary\r\nContent-Length: " + body.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                long sent = System.nanoTime();
                while (gauge(s, "vae4j_in_flight") < 1) {
                    assertTrue(System.nanoTime() - sent < 30_000_000_000L, "the decode never started");
                    Thread.sleep(10);
                }
            }
            // Hung up; a 1024x1024 decode takes seconds here, its cancellation one kernel.
            long closed = System.nanoTime();
            while (gauge(s, "vae4j_in_flight") > 0) {
                assertTrue(System.nanoTime() - closed < 1_500_000_000L, "slot still busy 1.5 s after the hangup");
                Thread.sleep(20);
            }
            String metrics = new String(get(s, "/metrics").body());
            assertTrue(metrics.contains("vae4j_rejected_total{reason=\"disconnected\"} 1"), metrics);
            try (Tensor small = TestModels.random(15, 2f, 1, 4, 8, 8)) {
                HttpResponse<byte[]> r = post(s, "/decode?output_type=pt&dtype=float32" + shapeQuery(1, 4, 8, 8),
                        f32(small));
                assertEquals(200, r.statusCode(), new String(r.body()));
            }
        } finally {
            s.drain();
        }
    }

    @Test
    void aTimedOutRequestGets503AndFreesItsSlotWithinAKernel() {
        VaeServer s = start(1, Duration.ofSeconds(1));
        try (Tensor big = TestModels.random(12, 2f, 1, 4, 128, 128); Tensor small = TestModels.random(13, 2f, 1, 4, 8, 8)) {
            // Warm: the first decode of a process compiles its kernels.
            post(s, "/decode?output_type=pt&dtype=float32" + shapeQuery(1, 4, 32, 32), new byte[4 * 4 * 32 * 32]);
            long start = System.nanoTime();
            HttpResponse<byte[]> r = post(s, "/decode?output_type=pt&dtype=float32" + shapeQuery(1, 4, 128, 128),
                    f32(big));
            double answered = (System.nanoTime() - start) / 1e9;
            assertJsonError(r, 503, "timed out after 1 s");
            assertTrue(answered < 2.5, "answered after " + answered + " s");
            // A 1024x1024 decode takes seconds here; cancelled, it stops at its next kernel.
            long freed = System.nanoTime();
            while (gauge(s, "vae4j_in_flight") > 0) {
                assertTrue(System.nanoTime() - freed < 1_500_000_000L, "slot still busy after 1.5 s");
                Thread.sleep(20);
            }
            r = post(s, "/decode?output_type=pt&dtype=float32" + shapeQuery(1, 4, 8, 8), f32(small));
            assertEquals(200, r.statusCode(), new String(r.body()));
            String metrics = new String(get(s, "/metrics").body());
            assertTrue(metrics.contains("vae4j_rejected_total{reason=\"timeout\"}"), metrics);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } finally {
            s.drain();
        }
    }
}
