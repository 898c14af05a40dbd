package io.vae4j.model.source;

import io.vae4j.VaeException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Fetches what a model reference needs from the Hugging Face hub into the {@link HubCache} layout, as
 * huggingface_hub does: each file's commit and hash come from the {@code resolve} endpoint's headers
 * ({@code X-Repo-Commit}; {@code X-Linked-Etag} for large files, the sha256 of the content; {@code ETag} for small
 * ones, the git blob sha1); the bytes go to {@code blobs/HASH.incomplete} (a broken download resumes with a Range
 * request), are checked against the hash, and only then renamed to {@code blobs/HASH} and linked from
 * {@code snapshots/COMMIT/PATH}. The endpoint is {@code $HF_ENDPOINT} (default https://huggingface.co); a token in
 * {@code $HF_TOKEN} is sent as a bearer token.
 */
public final class HubDownload {
    private static final List<String> WEIGHTS = List.of(".safetensors", ".pth", ".pt", ".ckpt", ".bin");

    private final HubCache cache;
    private final URI endpoint;
    private final String token;
    private final Consumer<String> log;
    private final HttpClient http;

    public HubDownload(HubCache cache, URI endpoint, String token, Consumer<String> log) {
        this.cache = cache;
        this.endpoint = endpoint;
        this.token = token;
        this.log = log;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(20)).build();
    }

    public static HubDownload fromEnvironment(HubCache cache, Map<String, String> env, Consumer<String> log) {
        String e = env.getOrDefault("HF_ENDPOINT", "https://huggingface.co");
        return new HubDownload(cache, URI.create(e.endsWith("/") ? e : e + "/"), env.get("HF_TOKEN"), log);
    }

    /**
     * The files a reference needs: the file it names, else a diffusers model's {@code config.json} and
     * {@code diffusion_pytorch_model.safetensors} in the folder it names.
     */
    static List<String> files(HubCache.Ref ref) {
        String p = ref.path();
        if (WEIGHTS.stream().anyMatch(p.toLowerCase(Locale.ROOT)::endsWith)) {
            return List.of(p);
        }
        String dir = p.isEmpty() || p.endsWith("/") ? p : p + "/";
        return List.of(dir + "config.json", dir + "diffusion_pytorch_model.safetensors");
    }

    /** Downloads what the cache lacks of a reference; returns the resolved path. */
    public Path fetch(HubCache.Ref ref) {
        String commit = null;
        for (String file : files(ref)) {
            commit = fetchFile(ref, file);
        }
        if (!ref.revision().equals(commit)) {
            writeRef(ref, commit);
        }
        Path p = cache.resolve(ref);
        if (p == null) {
            throw new VaeException("model " + ref + ": downloaded, but the cache still does not hold it under "
                    + cache.repoDir(ref.repo()));
        }
        return p;
    }

    private String fetchFile(HubCache.Ref ref, String file) {
        URI uri = endpoint.resolve(ref.repo() + "/resolve/" + encode(ref.revision()) + "/" + encodePath(file));
        HttpResponse<Void> head = send(HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()),
                HttpResponse.BodyHandlers.discarding(), ref, file);
        String commit = head.headers().firstValue("x-repo-commit").orElse(null);
        String etag = unquote(head.headers().firstValue("x-linked-etag")
                .orElse(head.headers().firstValue("etag").orElse(null)));
        if (commit == null || !commit.matches("[0-9a-f]{40}") || etag == null || !etag.matches("[0-9a-f]{40}|[0-9a-f]{64}")) {
            throw new VaeException("model " + ref + ": " + uri + " gave no commit and content hash (X-Repo-Commit,"
                    + " X-Linked-Etag or ETag); is " + endpoint + " a Hugging Face hub?");
        }
        Path repo = cache.repoDir(ref.repo());
        Path blob = repo.resolve("blobs").resolve(etag);
        Path link = repo.resolve("snapshots").resolve(commit).resolve(file);
        try {
            if (!Files.isRegularFile(blob)) {
                download(uri, ref, file, blob, etag);
            }
            if (!Files.exists(link)) {
                Files.createDirectories(link.getParent());
                try {
                    Files.createSymbolicLink(link, link.getParent().relativize(blob));
                } catch (UnsupportedOperationException | IOException e) {
                    Files.copy(blob, link);
                }
            }
        } catch (IOException e) {
            throw new VaeException("model " + ref + ": cannot write " + file + " into " + repo + ": " + e.getMessage(),
                    e);
        }
        return commit;
    }

    /** Into {@code blob.incomplete}, resuming what an earlier try left; checked, then renamed into place. */
    private void download(URI uri, HubCache.Ref ref, String file, Path blob, String etag) throws IOException {
        Files.createDirectories(blob.getParent());
        Path partial = blob.resolveSibling(etag + ".incomplete");
        long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
        HttpRequest.Builder get = HttpRequest.newBuilder(uri).GET();
        if (have > 0) {
            get.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> r = send(get, HttpResponse.BodyHandlers.ofInputStream(), ref, file);
        boolean resumed = r.statusCode() == 206;
        log.accept("downloading " + ref.repo() + "/" + file + (resumed ? " (resuming at " + have + " bytes)" : ""));
        long start = System.nanoTime();
        try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(partial, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            in.transferTo(out);
        }
        String got = hash(partial, etag.length() == 64);
        if (!got.equals(etag)) {
            Files.deleteIfExists(partial);
            throw new VaeException("model " + ref + ": " + file + " does not match the hub's hash (expected " + etag
                    + ", got " + got + "); the partial download was removed, try again");
        }
        Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE);
        log.accept(String.format(Locale.ROOT, "downloaded %s/%s: %.1f MiB in %.1f s", ref.repo(), file,
                Files.size(blob) / 1048576.0, (System.nanoTime() - start) / 1e9));
    }

    private <T> HttpResponse<T> send(HttpRequest.Builder b, HttpResponse.BodyHandler<T> body, HubCache.Ref ref,
                                     String file) {
        if (token != null && !token.isBlank()) {
            b.header("Authorization", "Bearer " + token);
        }
        b.header("User-Agent", "vae4j");
        HttpRequest request = b.timeout(Duration.ofMinutes(30)).build();
        try {
            HttpResponse<T> r = http.send(request, body);
            int s = r.statusCode();
            if (s != 200 && s != 206) {
                if (r.body() instanceof InputStream in) {
                    in.close();
                }
                throw new VaeException("model " + ref + ": " + file + " answered HTTP " + s + " from "
                        + request.uri() + (s == 401 || s == 403 ? " (a gated or private repository needs HF_TOKEN)"
                        : s == 404 ? " (no such repository, revision or file)" : ""));
            }
            return r;
        } catch (IOException e) {
            throw new VaeException("model " + ref + ": cannot reach " + request.uri() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VaeException("model " + ref + ": download interrupted", e);
        }
    }

    private void writeRef(HubCache.Ref ref, String commit) {
        Path refs = cache.repoDir(ref.repo()).resolve("refs");
        try {
            Files.createDirectories(refs);
            Path tmp = Files.createTempFile(refs, ".ref", ".tmp");
            Files.writeString(tmp, commit);
            Files.move(tmp, refs.resolve(ref.revision()), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new VaeException("model " + ref + ": cannot write " + refs + ": " + e.getMessage(), e);
        }
    }

    /** sha256 of the content, or the git blob sha1 ("blob LENGTH\0" then the content), in lower-case hex. */
    static String hash(Path file, boolean sha256) throws IOException {
        try {
            MessageDigest d = MessageDigest.getInstance(sha256 ? "SHA-256" : "SHA-1");
            if (!sha256) {
                d.update(("blob " + Files.size(file) + "\0").getBytes(StandardCharsets.US_ASCII));
            }
            byte[] buf = new byte[1 << 16];
            try (InputStream in = Files.newInputStream(file)) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    d.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String unquote(String s) {
        if (s == null) {
            return null;
        }
        String v = s.startsWith("W/") ? s.substring(2) : s;
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) {
            parts.add(encode(p));
        }
        return String.join("/", parts);
    }
}
