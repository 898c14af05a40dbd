package io.vae4j.model.source;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vae4j.VaeException;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models by name: the Hugging Face cache layout, ComfyUI's folders, and downloads from a stand-in of the hub's
 * resolve endpoint on loopback (the real hub is not reachable from these machines) — hashes, resume, failures.
 */
class ModelSourcesTest {
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final byte[] WEIGHTS = read(Path.of("models", "taef2.safetensors"));

    @TempDir
    Path tmp;
    HttpServer hub;
    /** What the stand-in serves, by "repo/resolve/revision/path": the bytes, and the hash it announces. */
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final Map<String, String> etags = new ConcurrentHashMap<>();
    final AtomicInteger rangeRequests = new AtomicInteger();

    static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static String gitSha1(byte[] b) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-1");
        d.update(("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII));
        return HexFormat.of().formatHex(d.digest(b));
    }

    @BeforeEach
    void startHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/", this::serve);
        hub.start();
    }

    @AfterEach
    void stopHub() {
        hub.stop(0);
    }

    /** The resolve endpoint as the hub answers it: commit and hash headers, Range for resumed downloads. */
    private void serve(HttpExchange ex) throws IOException {
        String key = ex.getRequestURI().getPath().substring(1);
        byte[] body = files.get(key);
        if (body == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        String etag = etags.get(key);
        ex.getResponseHeaders().add("X-Repo-Commit", COMMIT);
        ex.getResponseHeaders().add(etag.length() == 64 ? "X-Linked-Etag" : "ETag", "\"" + etag + "\"");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(200, -1);
            ex.close();
            return;
        }
        String range = ex.getRequestHeaders().getFirst("Range");
        int from = 0;
        if (range != null && range.startsWith("bytes=")) {
            from = Integer.parseInt(range.substring(6, range.indexOf('-')));
            rangeRequests.incrementAndGet();
        }
        byte[] part = Arrays.copyOfRange(body, from, body.length);
        ex.sendResponseHeaders(from > 0 ? 206 : 200, part.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(part);
        }
    }

    private ModelSources sources(boolean download) {
        Map<String, String> env = Map.of("HF_HOME", tmp.resolve("hf").toString(),
                "HF_ENDPOINT", "http://127.0.0.1:" + hub.getAddress().getPort(),
                "COMFYUI_DIR", tmp.resolve("comfy").toString());
        return ModelSources.of(env, null, download, line -> { });
    }

    private void publish(String repo, String path, byte[] bytes, boolean large) throws Exception {
        String key = repo + "/resolve/main/" + path;
        files.put(key, bytes);
        etags.put(key, large ? sha256(bytes) : gitSha1(bytes));
    }

    @Test
    void referencesParse() {
        HubCache.Ref r = HubCache.Ref.parse("madebyollin/sdxl-vae-fp16-fix@v1.0:vae");
        assertEquals(new HubCache.Ref("madebyollin/sdxl-vae-fp16-fix", "v1.0", "vae"), r);
        assertEquals(new HubCache.Ref("a/b", "main", ""), HubCache.Ref.parse("a/b"));
        assertNull(HubCache.Ref.parse("just-a-name"));
        assertNull(HubCache.Ref.parse("a/b/c"));
        assertNull(HubCache.Ref.parse("a/b:../../etc/passwd"));
    }

    @Test
    void downloadsIntoTheCacheLayoutThenResolvesWithoutTheNetwork() throws Exception {
        publish("madebyollin/taef2", "taef2.safetensors", WEIGHTS, true);
        VaeException e = assertThrows(VaeException.class, () -> sources(false).resolve("madebyollin/taef2:taef2.safetensors"));
        assertTrue(e.getMessage().contains("not in the Hugging Face cache") && e.getMessage().contains("--download"),
                e.getMessage());

        Path got = sources(true).resolve("madebyollin/taef2:taef2.safetensors");
        Path repo = tmp.resolve("hf/hub/models--madebyollin--taef2");
        assertEquals(COMMIT, Files.readString(repo.resolve("refs/main")));
        assertEquals(repo.resolve("snapshots/" + COMMIT + "/taef2.safetensors"), got);
        assertTrue(Files.isSymbolicLink(got));
        assertArrayEquals(WEIGHTS, Files.readAllBytes(got));
        assertTrue(Files.isRegularFile(repo.resolve("blobs/" + sha256(WEIGHTS))));
        try (Model m = ModelLoader.load(got, new ScalarBackend(), null)) {
            assertTrue(m.info().architecture().startsWith("TAESD taef2"), m.info().architecture());
        }
        // Now without the hub: the cache answers.
        hub.stop(0);
        assertEquals(got, sources(false).resolve("madebyollin/taef2:taef2.safetensors"));
        assertEquals(got, sources(false).resolve("madebyollin/taef2@" + COMMIT + ":taef2.safetensors"));
        List<String> listing = sources(false).describe();
        assertTrue(listing.contains("  madebyollin/taef2:taef2.safetensors"), listing.toString());
    }

    @Test
    void aDiffusersFolderComesWithItsConfigAndSmallFilesAreCheckedByGitHash() throws Exception {
        byte[] config = "{\"_class_name\": \"AutoencoderTiny\"}".getBytes(StandardCharsets.UTF_8);
        publish("org/pipeline", "vae/config.json", config, false);
        publish("org/pipeline", "vae/diffusion_pytorch_model.safetensors", WEIGHTS, true);
        Path got = sources(true).resolve("org/pipeline:vae");
        assertTrue(Files.isDirectory(got));
        assertArrayEquals(config, Files.readAllBytes(got.resolve("config.json")));
        assertArrayEquals(WEIGHTS, Files.readAllBytes(got.resolve("diffusion_pytorch_model.safetensors")));
        assertTrue(Files.isRegularFile(tmp.resolve("hf/hub/models--org--pipeline/blobs/" + gitSha1(config))));
    }

    @Test
    void anInterruptedDownloadResumes() throws Exception {
        publish("madebyollin/taef2", "taef2.safetensors", WEIGHTS, true);
        Path blobs = Files.createDirectories(tmp.resolve("hf/hub/models--madebyollin--taef2/blobs"));
        Files.write(blobs.resolve(sha256(WEIGHTS) + ".incomplete"), Arrays.copyOf(WEIGHTS, WEIGHTS.length / 3));
        Path got = sources(true).resolve("madebyollin/taef2:taef2.safetensors");
        assertEquals(1, rangeRequests.get());
        assertArrayEquals(WEIGHTS, Files.readAllBytes(got));
        assertFalse(Files.exists(blobs.resolve(sha256(WEIGHTS) + ".incomplete")));
    }

    @Test
    void aCorruptDownloadIsRefusedAndLeavesNothing() throws Exception {
        publish("madebyollin/taef2", "taef2.safetensors", WEIGHTS, true);
        byte[] bad = WEIGHTS.clone();
        bad[1000] ^= 1;
        files.put("madebyollin/taef2/resolve/main/taef2.safetensors", bad);
        VaeException e = assertThrows(VaeException.class, () -> sources(true).resolve("madebyollin/taef2:taef2.safetensors"));
        assertTrue(e.getMessage().contains("does not match the hub's hash"), e.getMessage());
        Path blobs = tmp.resolve("hf/hub/models--madebyollin--taef2/blobs");
        try (var left = Files.list(blobs)) {
            assertEquals(0, left.count());
        }
        e = assertThrows(VaeException.class, () -> sources(true).resolve("nobody/nothing:x.safetensors"));
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
        hub.stop(0);
        e = assertThrows(VaeException.class, () -> sources(true).resolve("nobody/nothing:x.safetensors"));
        assertTrue(e.getMessage().contains("cannot reach"), e.getMessage());
    }

    @Test
    void plainNamesAreFoundInComfyUiFolders() throws IOException {
        Path vae = Files.createDirectories(tmp.resolve("comfy/models/vae_approx"));
        Files.write(vae.resolve("taef2.safetensors"), WEIGHTS);
        assertEquals(vae.resolve("taef2.safetensors"), sources(false).resolve("taef2"));
        assertEquals(vae.resolve("taef2.safetensors"), sources(false).resolve("taef2.safetensors"));
        VaeException e = assertThrows(VaeException.class, () -> sources(false).resolve("nothing"));
        assertTrue(e.getMessage().contains("no such file or folder (nor in"), e.getMessage());
        assertTrue(sources(false).describe().contains("  taef2"));
    }
}
