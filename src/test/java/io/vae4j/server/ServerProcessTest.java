package io.vae4j.server;

import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.vae4j.server.ServerTest.f32;
import static io.vae4j.server.ServerTest.http;
import static io.vae4j.server.ServerTest.shapeQuery;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `./vae4j serve` as a real process: it says where it listens, and SIGTERM drains the work in flight, then exits 0. */
class ServerProcessTest {
    @TempDir
    Path dir;

    /** Starts `vae4j serve` on a free port in a JVM of its own, with the test's class path; returns it when ready. */
    private Served serve(String... extra) throws IOException {
        Path model = TestModels.kl(dir, 4);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), "io.vae4j.cli.Main", "serve", "--model",
                "kl=" + model, "--port", "0", "--threads", "2"));
        cmd.addAll(List.of(extra));
        Path log = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertTrue(line != null && line.startsWith("listening on http://127.0.0.1:"),
                "first line: " + line + "\n" + Files.readString(log));
        return new Served(p, Integer.parseInt(line.substring(line.lastIndexOf(':') + 1)), log);
    }

    private record Served(Process process, int port, Path log) {
        URI uri(String path) {
            return URI.create("http://127.0.0.1:" + port + path);
        }

        HttpResponse<String> get(String path) throws IOException, InterruptedException {
            return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
        }

        double gauge(String name) throws IOException, InterruptedException {
            Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(get("/metrics").body());
            assertTrue(m.find(), name);
            return Double.parseDouble(m.group(1));
        }
    }

    @Test
    void sigtermDrainsTheRequestInFlightAndExitsZero() throws Exception {
        Served s = serve("--max-concurrent", "1", "--drain-timeout", "60");
        try (Tensor z = TestModels.random(21, 2f, 1, 4, 112, 112)) {
            assertEquals("Ok", s.get("/health").body());
            CompletableFuture<HttpResponse<byte[]>> slow = http.sendAsync(HttpRequest.newBuilder(
                            s.uri("/decode?output_type=pt&dtype=float32" + shapeQuery(1, 4, 112, 112)))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(f32(z))).build(), HttpResponse.BodyHandlers.ofByteArray());
            long waited = System.nanoTime();
            while (s.gauge("vae4j_in_flight") < 1) {
                assertTrue(System.nanoTime() - waited < 30_000_000_000L, "the decode never started");
                Thread.sleep(10);
            }
            s.process().destroy(); // SIGTERM
            // While it drains it answers, but takes nothing new (the signal reaches it within moments).
            long signalled = System.nanoTime();
            HttpResponse<String> health;
            while ((health = s.get("/health")).statusCode() == 200) {
                assertTrue(System.nanoTime() - signalled < 10_000_000_000L, "not draining 10 s after SIGTERM");
                Thread.sleep(10);
            }
            assertEquals(503, health.statusCode(), health.body());
            assertTrue(health.body().contains("shutting down"), health.body());
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(
                            s.uri("/decode?output_type=pt&dtype=float32" + shapeQuery(1, 4, 8, 8)))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[4 * 4 * 64])).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, refused.statusCode(), refused.body());
            HttpResponse<byte[]> r = slow.get(120, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), new String(r.body()));
            assertEquals(3L * 896 * 896 * 4, r.body().length);
            assertTrue(s.process().waitFor(60, TimeUnit.SECONDS), "still running");
            assertEquals(0, s.process().exitValue(), Files.readString(s.log()));
            String log = Files.readString(s.log());
            assertTrue(log.contains("draining") && log.contains("stopped"), log);
        } finally {
            s.process().destroyForcibly();
        }
    }
}
