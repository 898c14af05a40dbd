package io.vae4j.cli;

import io.vae4j.format.npy.Npy;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Faults of production, with real CLI processes: a kill -9 in the middle of a decode, a full disk (a file size
 * limit), an unreadable model, a model truncated or replaced while it is mapped, two processes writing one output.
 * The embedded TAEF2 model and small random latents keep each run short.
 */
class FaultCliTest {
    private static final Path MODEL = Path.of("models/taef2.safetensors").toAbsolutePath();

    @TempDir
    Path dir;

    /** A [1, 32, side, side] latent (TAEF2's channels) of seeded values in [-2, 2]. */
    private Path latent(String name, int side, long seed) {
        float[] v = new float[32 * side * side];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (4 * r.nextDouble() - 2);
        }
        Path file = dir.resolve(name);
        try (Tensor t = Tensor.of(v, 1, 32, side, side)) {
            Npy.write(file, t);
        }
        return file;
    }

    /** A CLI process; {@code prefix} runs it under another command (a shell with a ulimit, unshare). */
    private static Process start(List<String> prefix, Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                // No hsperfdata file in /tmp: the file size limit of the full-disk runs must hit our writes only.
                "-XX:-UsePerfData", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "io.vae4j.cli.Main"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static String finish(Process p, Path log) throws Exception {
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the CLI finished");
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    private static void await(Process p, BooleanSupplier moment, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!moment.getAsBoolean()) {
            assertTrue(p.isAlive(), "the CLI ended before " + what);
            assertTrue(System.nanoTime() < end, "waited 300 s for " + what);
            Thread.sleep(10);
        }
    }

    /** Whether process {@code pid} has a mapping of a file whose path contains {@code fragment}. */
    private static boolean maps(long pid, String fragment) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/maps")).contains(fragment);
        } catch (IOException e) {
            return false;
        }
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The one error line of a failed run: exit 1, no stack trace. */
    private static void refusedInOneLine(int status, String log, String... mentions) {
        assertEquals(1, status, log);
        assertFalse(log.contains("\tat ") || log.contains("Exception in thread"), log);
        List<String> errors = log.lines().filter(l -> l.startsWith("vae4j: error:")).toList();
        assertEquals(1, errors.size(), log);
        for (String m : mentions) {
            assertTrue(errors.getFirst().contains(m), () -> "'" + m + "' in: " + errors.getFirst());
        }
    }

    // ---- kill -9 ----

    /**
     * A kill -9 runs no shutdown hook. Untiled runs write the output only at the end (nothing to leave); a tiled run
     * streams it into a hidden temporary beside the target, which the next write of that target deletes; exact
     * mode's scratch files are unlinked as soon as they are opened, so the kernel frees them with the process.
     */
    @ParameterizedTest
    @ValueSource(strings = {"off", "fast", "exact"})
    void killDuringADecodeLeavesNoOutputAndNoScratch(String tiling) throws Exception {
        Path z = latent("z.npy", 32, 1);
        Path out = Files.createDirectories(dir.resolve("out")).resolve("image.png");
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        List<String> args = new ArrayList<>(List.of("decode", "--model", MODEL.toString(), "--latent", z.toString(),
                "--out", out.toString(), "--tiling", tiling, "--scratch", scratch.toString()));
        if (tiling.equals("fast")) {
            args.addAll(List.of("--tile", "64"));
        }
        Path log = dir.resolve("log.txt");
        Process p = start(List.of(), log, args.toArray(String[]::new));
        long pid = p.pid();
        switch (tiling) {
            // Killed while the output streams into its temporary.
            case "fast" -> await(p, () -> {
                try {
                    return names(out.getParent()).stream().anyMatch(n -> n.startsWith(".image.png.tmp-"));
                } catch (IOException e) {
                    return false;
                }
            }, "the output's temporary file");
            // Killed while the activations live in (unlinked) scratch files.
            case "exact" -> await(p, () -> maps(pid, scratch.toString()), "a mapped scratch file");
            // Killed once the model is mapped and the decode runs.
            default -> {
                await(p, () -> maps(pid, MODEL.getFileName().toString()), "the mapped model");
                Thread.sleep(200);
            }
        }
        p.destroyForcibly();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(137, p.exitValue(), "killed by SIGKILL while running: " + Files.readString(log));
        assertFalse(Files.exists(out), "no output after kill -9");
        assertEquals(List.of(), names(scratch), "no scratch file after kill -9");
        assertTrue(names(out.getParent()).stream().allMatch(n -> n.startsWith(".image.png.tmp-")),
                () -> "only a hidden temporary may remain: " + out.getParent());

        // The next write of the same output deletes what the killed process left.
        Path small = latent("small.npy", 4, 2);
        Process again = start(List.of(), log, "decode", "--model", MODEL.toString(), "--latent", small.toString(),
                "--out", out.toString(), "--tiling", tiling, "--scratch", scratch.toString(), "--quiet");
        String text = finish(again, log);
        assertEquals(0, again.exitValue(), text);
        assertEquals(List.of("image.png"), names(out.getParent()));
        assertEquals(List.of(), names(scratch));
    }

    // ---- full disk ----

    /** A shell that limits the size of any file the CLI writes (bash's ulimit -f counts KiB). */
    private static List<String> fileSizeLimit(int kib) {
        return List.of("bash", "-c", "ulimit -f " + kib + " && exec \"$@\"", "bash");
    }

    @Test
    void fullDiskWhileWritingTheOutput() throws Exception {
        Path z = latent("z.npy", 8, 3);
        Path out = Files.createDirectories(dir.resolve("out")).resolve("image.png");
        Path log = dir.resolve("log.txt");
        Process p = start(fileSizeLimit(4), log, "decode", "--model", MODEL.toString(), "--latent", z.toString(),
                "--out", out.toString(), "--quiet");
        refusedInOneLine(p.waitFor(300, TimeUnit.SECONDS) ? p.exitValue() : -1, Files.readString(log),
                "cannot write " + out, "File too large");
        assertEquals(List.of(), names(out.getParent()), "no partial output, no temporary");
    }

    @Test
    void fullDiskWhileWritingScratch() throws Exception {
        Path z = latent("z.npy", 32, 4);
        Path out = Files.createDirectories(dir.resolve("out")).resolve("image.png");
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        Path log = dir.resolve("log.txt");
        Process p = start(fileSizeLimit(64), log, "decode", "--model", MODEL.toString(), "--latent", z.toString(),
                "--out", out.toString(), "--tiling", "exact", "--scratch", scratch.toString(), "--quiet");
        refusedInOneLine(p.waitFor(300, TimeUnit.SECONDS) ? p.exitValue() : -1, Files.readString(log),
                scratch.toString());
        assertEquals(List.of(), names(out.getParent()));
        assertEquals(List.of(), names(scratch));
    }

    // ---- the model file ----

    @Test
    void unreadableModel() throws Exception {
        Path model = dir.resolve("taef2.safetensors");
        Files.copy(MODEL, model);
        Files.setPosixFilePermissions(model, java.util.Set.of());
        List<String> prefix = List.of();
        if ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0) {
            // Root reads anything; in a user namespace of its own it keeps its uid but not the capability to
            // override permissions, so the file's mode applies.
            prefix = List.of("unshare", "--user");
            Process probe = new ProcessBuilder("unshare", "--user", "true").start();
            assumeTrue(probe.waitFor(30, TimeUnit.SECONDS) && probe.exitValue() == 0,
                    "running as root and unshare --user is not allowed here: cannot make a file unreadable");
        }
        Path z = latent("z.npy", 4, 5);
        Path out = dir.resolve("image.png");
        Path log = dir.resolve("log.txt");
        Process p = start(prefix, log, "decode", "--model", model.toString(), "--latent", z.toString(),
                "--out", out.toString(), "--quiet");
        refusedInOneLine(p.waitFor(300, TimeUnit.SECONDS) ? p.exitValue() : -1, Files.readString(log),
                model.toString(), "permission denied");
        assertFalse(Files.exists(out));
    }

    /**
     * Truncating a mapped model makes the next read of a weight past the new end fault; the JVM reports that as an
     * InternalError, which the CLI turns into one line naming the file (detected, not prevented: weights stay
     * mapped, not copied).
     */
    @Test
    void modelTruncatedWhileMappedIsOneLineNamingIt() throws Exception {
        Path model = dir.resolve("taef2.safetensors");
        Files.copy(MODEL, model);
        Path z = latent("z.npy", 32, 6);
        Path out = dir.resolve("image.png");
        Path log = dir.resolve("log.txt");
        Process p = start(List.of(), log, "decode", "--model", model.toString(), "--latent", z.toString(),
                "--out", out.toString(), "--tiling", "off", "--quiet");
        await(p, () -> maps(p.pid(), model.toString()), "the mapped model");
        try (FileChannel ch = FileChannel.open(model, StandardOpenOption.WRITE)) {
            ch.truncate(4096); // the header survives, every weight is gone
        }
        refusedInOneLine(p.waitFor(300, TimeUnit.SECONDS) ? p.exitValue() : -1, Files.readString(log),
                "model file " + model, "changed while in use");
        assertFalse(Files.exists(out));
    }

    /**
     * The same under a server (a real `./vae4j serve` process): the request that reads the truncated weights gets a
     * 500 whose message names the file, the server logs it in one line, and it goes on answering.
     */
    @Test
    void modelTruncatedUnderTheServerFailsItsRequestsNamingIt() throws Exception {
        Path model = dir.resolve("served.safetensors");
        Files.copy(MODEL, model);
        Path log = dir.resolve("serve.txt");
        Process p = start(List.of(), log, "serve", "--model", model.toString(), "--port", "0", "--no-warmup",
                "--no-cache", "--threads", "1");
        try {
            await(p, () -> {
                try {
                    return Files.readString(log).contains("listening on http://");
                } catch (IOException e) {
                    return false;
                }
            }, "the server to listen");
            String url = Files.readString(log).lines().filter(l -> l.contains("listening on http://")).findFirst()
                    .orElseThrow().replaceAll(".*listening on (http://\\S+).*", "$1");
            try (FileChannel ch = FileChannel.open(model, StandardOpenOption.WRITE)) {
                ch.truncate(4096);
            }
            java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
            java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(32 * 8 * 8 * 4);
            java.net.http.HttpResponse<String> r = client.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(url + "/decode?output_type=pt&dtype=float32&shape=1&shape=32&shape=8"
                                    + "&shape=8")).POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body.array()))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(500, r.statusCode(), r.body());
            assertTrue(r.body().contains("model file " + model) && r.body().contains("changed while in use"),
                    r.body());
            java.net.http.HttpResponse<String> health = client.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(url + "/health")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), "the server goes on: " + health.body());
            String text = Files.readString(log);
            assertFalse(text.contains("\tat "), text);
            assertTrue(text.lines().anyMatch(l -> l.contains("error: model file " + model)), text);
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    /** Renaming a new file over a mapped model is safe: the mapping keeps the old file's data. */
    @Test
    void modelReplacedByRenameWhileMappedIsHarmless() throws Exception {
        Path model = dir.resolve("taef2.safetensors");
        Files.copy(MODEL, model);
        Path z = latent("z.npy", 16, 7);
        Path expected = dir.resolve("expected.png");
        Path log = dir.resolve("log.txt");
        Process first = start(List.of(), log, "decode", "--model", model.toString(), "--latent", z.toString(),
                "--out", expected.toString(), "--quiet", "--threads", "1");
        String text = finish(first, log);
        assertEquals(0, first.exitValue(), text);

        Path out = dir.resolve("image.png");
        Process p = start(List.of(), log, "decode", "--model", model.toString(), "--latent", z.toString(),
                "--out", out.toString(), "--quiet", "--threads", "1");
        await(p, () -> maps(p.pid(), model.toString()), "the mapped model");
        Path other = dir.resolve("other.safetensors");
        Files.write(other, new byte[1000]);
        Files.move(other, model, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        text = finish(p, log);
        assertEquals(0, p.exitValue(), text);
        assertTrue(Arrays.equals(Files.readAllBytes(expected), Files.readAllBytes(out)), "the same image");
    }

    // ---- two writers ----

    /**
     * Two processes writing one output path: each writes its own temporary and renames it over the target, so the
     * target is one of the two complete images, never a mix, and no temporary remains.
     */
    @Test
    void twoProcessesWritingOneOutput() throws Exception {
        Path a = latent("a.npy", 8, 8);
        Path b = latent("b.npy", 8, 9);
        Path refs = Files.createDirectories(dir.resolve("refs"));
        Path out = Files.createDirectories(dir.resolve("out")).resolve("image.png");
        List<Process> ps = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        for (String[] run : new String[][]{{a.toString(), refs.resolve("a.png").toString()},
                {b.toString(), refs.resolve("b.png").toString()}, {a.toString(), out.toString()},
                {b.toString(), out.toString()}}) {
            Path log = dir.resolve("log" + logs.size() + ".txt");
            logs.add(log);
            ps.add(start(List.of(), log, "decode", "--model", MODEL.toString(), "--latent", run[0], "--out", run[1],
                    "--quiet", "--threads", "1"));
            if (ps.size() <= 2) {
                String text = finish(ps.getLast(), log);
                assertEquals(0, ps.getLast().exitValue(), text);
            }
        }
        for (int i = 2; i < 4; i++) {
            String text = finish(ps.get(i), logs.get(i));
            assertEquals(0, ps.get(i).exitValue(), text);
        }
        byte[] got = Files.readAllBytes(out);
        assertTrue(Arrays.equals(got, Files.readAllBytes(refs.resolve("a.png")))
                || Arrays.equals(got, Files.readAllBytes(refs.resolve("b.png"))), "one writer's complete image");
        assertEquals(List.of("image.png"), names(out.getParent()));
    }
}
