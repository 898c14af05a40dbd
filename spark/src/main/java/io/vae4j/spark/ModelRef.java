package io.vae4j.spark;

import io.vae4j.VaeException;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A model as the driver names it to the executors: its path (a shared path, or a file shipped with
 * {@code --files}, found by its name), its sha256 so every executor runs the same weights, and how to run it.
 *
 * @param family  sd1, sdxl, ... or null to decide from the tensors, as the CLI's --family
 * @param threads the backend's threads: {@code spark.task.cpus}, since each task runs one image at a time
 */
public record ModelRef(String path, String sha256, String family, int threads) implements Serializable {

    /** The driver's view of a model: hashes it (a folder: its files' names and contents, in name order). */
    public static ModelRef of(Path path, String family, int threads) {
        return of(path, family).withThreads(threads);
    }

    /** The same with one thread per task, before Spark has said its spark.task.cpus. */
    public static ModelRef of(Path path, String family) {
        if (!Files.exists(path)) {
            throw new VaeException("model " + path + ": no such file or folder");
        }
        return new ModelRef(path.toAbsolutePath().toString(), sha256(path), family, 1);
    }

    public ModelRef withThreads(int n) {
        return new ModelRef(path, sha256, family, n);
    }

    /** The sha256 in lower-case hex of a model file, or of a model folder's relative names and contents. */
    public static String sha256(Path path) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            if (Files.isDirectory(path)) {
                List<Path> files;
                try (Stream<Path> walk = Files.walk(path)) {
                    files = walk.filter(Files::isRegularFile).sorted().toList();
                }
                for (Path f : files) {
                    d.update(path.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
                    d.update((byte) 0);
                    digest(d, f);
                }
            } else {
                digest(d, path);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (IOException | UncheckedIOException e) {
            throw new VaeException("model " + path + ": cannot read it: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void digest(MessageDigest d, Path file) throws IOException {
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                d.update(buf, 0, n);
            }
        }
    }
}
