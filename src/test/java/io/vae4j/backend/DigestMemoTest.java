package io.vae4j.backend;

import io.vae4j.format.MappedWeightFiles;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The remembered digests of mapped weights: a later process on the same file gets the digest without hashing, and
 * it always equals the hash of the bytes it is given for, whatever happened to the file or the memo in between.
 */
class DigestMemoTest {
    @TempDir
    Path dir;

    private Path cache;

    private long racy;

    @BeforeEach
    void pointTheCacheAtATempDir() {
        cache = dir.resolve("cache");
        System.setProperty("vae4j.cache.dir", cache.toString());
        racy = DigestMemo.racyNanos;
        DigestMemo.racyNanos = RACY_MILLIS * 1_000_000L;
    }

    @AfterEach
    void restore() {
        System.clearProperty("vae4j.cache.dir");
        PreparedCache.setEnabled(true);
        DigestMemo.racyNanos = racy;
    }

    /** The racy window in these tests, and a wait past it (file times tick coarsely). */
    private static final long RACY_MILLIS = 50;

    private static Path settled(Path file) {
        try {
            Thread.sleep(2 * RACY_MILLIS);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        return file;
    }

    /** A weight file of two tensors, the second large enough for three distinct sample pages. */
    private Path weights(float seed) {
        return settled(weights(dir.resolve("w.safetensors"), seed));
    }

    private static Path weights(Path file, float seed) {
        Random4 r = new Random4((long) seed);
        try (Tensor small = Tensor.of(new float[]{seed, -2, 3.5f, 4}, 2, 2);
             Tensor large = r.normal(1f, 64, 32, 3, 3)) {
            SequencedMap<String, Tensor> in = new LinkedHashMap<>();
            in.put("small", small);
            in.put("large", large);
            SafetensorsFile.write(file, in, Map.of());
        }
        return file;
    }

    /** What the digest is without any memo: a copy in allocated memory has no file to be remembered under. */
    private static byte[] hashed(Tensor t) {
        try (Tensor copy = Tensor.allocate(t.dtype(), t.shape())) {
            copy.data().copyFrom(t.data());
            assertNull(MappedWeightFiles.origin(copy.data()), "allocated memory is no file's");
            return PreparedCache.digest(copy);
        }
    }

    private List<Path> memos() throws IOException {
        if (!Files.isDirectory(cache)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(cache)) {
            return s.filter(f -> f.getFileName().toString().endsWith(DigestMemo.SUFFIX)).sorted().toList();
        }
    }

    private static List<byte[]> digests(Path file) {
        List<byte[]> out = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (Tensor t : f.tensors().values()) {
                assertNotNull(MappedWeightFiles.origin(t.data()), "a mapped weight has an origin");
                byte[] d = PreparedCache.digest(t);
                assertArrayEquals(hashed(t), d, "the digest is the hash of the bytes");
                out.add(d);
            }
        }
        return out;
    }

    @Test
    void aLaterOpenOfTheSameFileReadsTheMemo() throws IOException {
        Path file = weights(1);
        List<byte[]> first = digests(file);
        assertEquals(2, memos().size(), "one memo a tensor");
        // A memo whose digest line says something else (its checks intact) is what the next open returns: proof
        // that the digest came from the memo, not from hashing.
        byte[] bogus = new byte[32];
        bogus[0] = 42;
        for (Path m : memos()) {
            List<String> lines = new ArrayList<>(Files.readAllLines(m, StandardCharsets.US_ASCII));
            lines.set(2, HexFormat.of().formatHex(bogus));
            Files.write(m, lines, StandardCharsets.US_ASCII);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (Tensor t : f.tensors().values()) {
                assertArrayEquals(bogus, PreparedCache.digest(t), "read from the memo");
            }
        }
        assertEquals(2, first.size());
    }

    @Test
    void aFileRewrittenInPlaceWithItsOldTimeAndSizeIsHashedAgain() throws IOException {
        Path file = weights(1);
        List<byte[]> before = digests(file);
        FileTime modified = Files.getLastModifiedTime(file);
        Object inode = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        // Same inode, same size, the old modification time put back: only the status-change time tells.
        Files.write(file, Files.readAllBytes(weights(dir.resolve("other.safetensors"), 2)));
        Files.setLastModifiedTime(file, modified);
        assertEquals(inode, Files.readAttributes(file, BasicFileAttributes.class).fileKey(), "rewritten in place");
        settled(file);
        List<byte[]> after = digests(file);
        assertFalse(java.util.Arrays.equals(before.get(1), after.get(1)), "new bytes, new digest");
        assertEquals(4, memos().size(), "the edited file's memos are new ones");
    }

    @Test
    void aCorruptOrMismatchedMemoIsIgnoredAndRewritten() throws IOException {
        Path file = weights(3);
        digests(file);
        List<Path> memos = memos();
        Files.writeString(memos.get(0), "garbage", StandardCharsets.US_ASCII);
        List<String> lines = new ArrayList<>(Files.readAllLines(memos.get(1), StandardCharsets.US_ASCII));
        lines.set(3, "0");
        Files.write(memos.get(1), lines, StandardCharsets.US_ASCII);
        digests(file);
        for (Path m : memos()) {
            assertEquals(4, Files.readAllLines(m, StandardCharsets.US_ASCII).size(), m + " rewritten whole");
        }
    }

    @Test
    void aFileThatJustChangedGetsNoMemo() throws IOException {
        Path file = weights(dir.resolve("fresh.safetensors"), 5);
        digests(file);
        assertEquals(List.of(), memos(), "changed within the racy window");
        digests(settled(file));
        assertEquals(2, memos().size(), "remembered once settled");
    }

    @Test
    void noMemoWithTheCacheOffOrForAClosedFile() throws IOException {
        Path file = weights(4);
        PreparedCache.setEnabled(false);
        digests(file);
        assertEquals(List.of(), memos(), "the cache off writes nothing");
        PreparedCache.setEnabled(true);
        Tensor kept;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            kept = f.tensors().get("large");
        }
        assertNull(MappedWeightFiles.origin(kept.data()), "a closed file's views have no origin");
    }
}
