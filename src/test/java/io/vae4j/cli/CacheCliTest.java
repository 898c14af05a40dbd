package io.vae4j.cli;

import io.vae4j.backend.PreparedCache;
import io.vae4j.backend.Random4;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Fixtures;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI and the prepared-weights cache: a decode stores the model's transforms, the next maps them and still
 * matches the reference, and --no-cache writes nothing. The cache goes to a temporary directory, never the user's.
 */
class CacheCliTest {
    @TempDir
    Path tmp;

    private Path cache;

    @BeforeEach
    void pointTheCacheAtATempDir() {
        cache = tmp.resolve("cache");
        System.setProperty("vae4j.cache.dir", cache.toString());
    }

    @AfterEach
    void restore() {
        System.clearProperty("vae4j.cache.dir");
        PreparedCache.setEnabled(true);
    }

    private long entries() throws IOException {
        if (!Files.isDirectory(cache)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(cache)) {
            return s.count();
        }
    }

    private void decodeMatchesReference(String... extra) {
        Path dir = Fixtures.caseDir("kl_f8_sd");
        Path out = tmp.resolve("image.npy");
        String[] base = {"decode", "--model", dir.resolve("model.safetensors").toString(), "--latent",
                dir.resolve("decode_b2_8x8.z.npy").toString(), "--out", out.toString(), "--raw", "--quiet"};
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        CliTest.Result r = CliTest.run(args);
        assertEquals(0, r.status(), r.err());
        try (Tensor got = Npy.read(out); Tensor want = Npy.read(dir.resolve("decode_b2_8x8.image.npy"))) {
            assertTrue(Random4.maxAbsDiff(want, got) <= 5e-5f);
        }
    }

    @Test
    void aDecodeStoresTheTransformsAndTheNextMapsThem() throws IOException {
        decodeMatchesReference();
        long stored = entries();
        assertTrue(stored > 0, "entries written");
        decodeMatchesReference();
        assertEquals(stored, entries(), "the second decode found them all");
    }

    @Test
    void noCacheWritesNothing() throws IOException {
        decodeMatchesReference("--no-cache");
        assertEquals(0, entries());
        assertFalse(Files.exists(cache));
    }
}
