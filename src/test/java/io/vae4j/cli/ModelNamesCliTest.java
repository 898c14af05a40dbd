package io.vae4j.cli;

import com.sun.net.httpserver.HttpServer;
import io.vae4j.format.npy.Npy;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --model by name: ComfyUI folders in this JVM; the Hugging Face cache and --download in a process of its own,
 * whose environment (HF_HOME, HF_ENDPOINT) points at a temporary cache and a stand-in hub on loopback.
 */
class ModelNamesCliTest {
    static final Path TAEF2 = Path.of("models", "taef2.safetensors");
    static final Path PHOTO = Path.of("examples", "astronaut.png");
    @TempDir
    Path tmp;

    @Test
    void plainNamesComeFromComfyUiFolders() throws IOException {
        Path approx = Files.createDirectories(tmp.resolve("comfy/models/vae_approx"));
        Files.copy(TAEF2, approx.resolve("mytae.safetensors"));
        Path a = tmp.resolve("a.npy"), b = tmp.resolve("b.npy");
        CliTest.Result r = CliTest.run("encode", "--model", "mytae", "--comfy-dir", tmp.resolve("comfy").toString(),
                "--image", PHOTO.toString(), "--out", a.toString(), "--quiet");
        assertEquals(0, r.status(), r.err());
        r = CliTest.run("encode", "--model", TAEF2.toString(), "--image", PHOTO.toString(), "--out", b.toString(),
                "--quiet");
        assertEquals(0, r.status(), r.err());
        try (Tensor ta = Npy.read(a); Tensor tb = Npy.read(b)) {
            // Two encodes of one image by one model: equal up to run-to-run float noise.
            for (long i = 0; i < ta.numel(); i++) {
                assertEquals(tb.get(i), ta.get(i), 5e-5f * (1 + Math.abs(tb.get(i))));
            }
        }
        r = CliTest.run("models", "--comfy-dir", tmp.resolve("comfy").toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("\n  mytae\n"), r.out());
        r = CliTest.run("encode", "--model", "nothing-here", "--comfy-dir", tmp.resolve("comfy").toString(),
                "--image", PHOTO.toString(), "--out", a.toString());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("model nothing-here: no such file or folder (nor in"), r.err());
    }

    private record Run(int status, String out) {
    }

    private Run vae4j(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "io.vae4j.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("HF_HUB_CACHE");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out);
    }

    @Test
    void hubNamesResolveInTheCacheAndDownloadIntoIt() throws Exception {
        byte[] weights = Files.readAllBytes(TAEF2);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(weights));
        String commit = "89abcdef0123456789abcdef0123456789abcdef";
        HttpServer hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/madebyollin/taef2/resolve/main/taef2.safetensors", ex -> {
            ex.getResponseHeaders().add("X-Repo-Commit", commit);
            ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
            boolean head = ex.getRequestMethod().equals("HEAD");
            ex.sendResponseHeaders(200, head ? -1 : weights.length);
            try (OutputStream out = ex.getResponseBody()) {
                if (!head) {
                    out.write(weights);
                }
            }
        });
        hub.start();
        try {
            Map<String, String> env = Map.of("HF_HOME", tmp.resolve("hf").toString(),
                    "HF_ENDPOINT", "http://127.0.0.1:" + hub.getAddress().getPort());
            String ref = "madebyollin/taef2:taef2.safetensors";
            Run r = vae4j(env, "info", ref);
            assertEquals(1, r.status(), r.out());
            assertTrue(r.out().contains("not in the Hugging Face cache") && r.out().contains("--download"), r.out());

            Path latent = tmp.resolve("z.npy");
            r = vae4j(env, "encode", "--model", ref, "--download", "--image", PHOTO.toString(), "--out",
                    latent.toString());
            assertEquals(0, r.status(), r.out());
            assertTrue(r.out().contains("downloaded madebyollin/taef2/taef2.safetensors"), r.out());
            Path cached = tmp.resolve("hf/hub/models--madebyollin--taef2/snapshots/" + commit + "/taef2.safetensors");
            assertArrayEquals(weights, Files.readAllBytes(cached));

            hub.stop(0);
            r = vae4j(env, "info", ref);
            assertEquals(0, r.status(), r.out());
            assertTrue(r.out().contains("TAESD taef2"), r.out());
            r = vae4j(env, "models");
            assertTrue(r.out().contains("  " + ref), r.out());
        } finally {
            hub.stop(0);
        }
    }
}
