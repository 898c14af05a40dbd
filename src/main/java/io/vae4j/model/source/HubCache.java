package io.vae4j.model.source;

import io.vae4j.VaeException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The local Hugging Face hub cache, laid out as huggingface_hub writes it:
 * {@code ROOT/models--ORG--NAME/refs/REVISION} holds a commit hash, {@code snapshots/COMMIT/PATH} the files (links
 * into {@code blobs/}). ROOT is {@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else
 * {@code ~/.cache/huggingface/hub}.
 */
public final class HubCache {
    /** A repository id: ORG/NAME, the characters the hub allows. */
    private static final Pattern REPO = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    /** The cache the environment names. */
    public static HubCache fromEnvironment(Map<String, String> env) {
        String hub = env.get("HF_HUB_CACHE");
        if (hub != null && !hub.isBlank()) {
            return new HubCache(Path.of(hub));
        }
        String home = env.get("HF_HOME");
        if (home != null && !home.isBlank()) {
            return new HubCache(Path.of(home, "hub"));
        }
        return new HubCache(Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub"));
    }

    public Path root() {
        return root;
    }

    /**
     * A model reference {@code ORG/NAME[@REVISION][:PATH]}: the repository, the revision (a branch, tag or commit;
     * default main) and a file or folder inside it (default: the whole snapshot).
     */
    public record Ref(String repo, String revision, String path) {
        /** The reference these words spell, or null when they are not one. */
        public static Ref parse(String s) {
            String rest = s;
            String path = "";
            int colon = rest.indexOf(':');
            if (colon >= 0) {
                path = rest.substring(colon + 1);
                rest = rest.substring(0, colon);
            }
            String revision = "main";
            int at = rest.indexOf('@');
            if (at >= 0) {
                revision = rest.substring(at + 1);
                rest = rest.substring(0, at);
            }
            if (!REPO.matcher(rest).matches() || revision.isEmpty() || revision.contains("/..")
                    || path.contains("..") || path.startsWith("/") || revision.contains("\\")) {
                return null;
            }
            return new Ref(rest, revision, path);
        }

        @Override
        public String toString() {
            return repo + (revision.equals("main") ? "" : "@" + revision) + (path.isEmpty() ? "" : ":" + path);
        }
    }

    /** {@code models--ORG--NAME}. */
    public Path repoDir(String repo) {
        return root.resolve("models--" + repo.replace("/", "--"));
    }

    /** The commit a revision names in this cache, or null when the cache has no such ref. */
    public String commit(Ref ref) {
        if (COMMIT.matcher(ref.revision()).matches()) {
            return ref.revision();
        }
        Path file = repoDir(ref.repo()).resolve("refs").resolve(ref.revision());
        try {
            String c = Files.readString(file).trim();
            return COMMIT.matcher(c).matches() ? c : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The file or folder a reference names, or null when the cache does not hold it. */
    public Path resolve(Ref ref) {
        String commit = commit(ref);
        if (commit == null) {
            return null;
        }
        Path snapshot = repoDir(ref.repo()).resolve("snapshots").resolve(commit);
        Path p = ref.path().isEmpty() ? snapshot : snapshot.resolve(ref.path()).normalize();
        if (!p.startsWith(snapshot)) {
            throw new VaeException("model " + ref + ": path leaves the snapshot");
        }
        return Files.exists(p) ? p : null;
    }

    /** The repositories in the cache ({@code ORG/NAME}), sorted. */
    public List<String> repos() {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            dirs.map(d -> d.getFileName().toString()).filter(n -> n.startsWith("models--")).sorted()
                    .forEach(n -> out.add(n.substring("models--".length()).replaceFirst("--", "/")));
        } catch (IOException e) {
            throw new VaeException("cannot list the hub cache " + root + ": " + e.getMessage(), e);
        }
        return out;
    }
}
