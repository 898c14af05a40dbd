package io.vae4j.backend.vector;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.ConvParams;
import io.vae4j.backend.OnePass;
import io.vae4j.backend.PreparedCache;
import io.vae4j.backend.Random4;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Winograd transforms through the on-disk cache: a convolution computed from a made, a stored-then-mapped and a
 * rebuilt (corrupt, truncated, foreign) entry gives the same bits as one with the cache off; off writes nothing;
 * a one-pass run frees each transform after use with the same result.
 */
class PreparedCacheTest {
    @TempDir
    Path cache;

    @BeforeEach
    void pointTheCacheAtATempDir() {
        System.setProperty("vae4j.cache.dir", cache.toString());
    }

    @AfterEach
    void restore() {
        System.clearProperty("vae4j.cache.dir");
        PreparedCache.setEnabled(true);
    }

    /** Upsampling convolutions need 8k output channels; 24 inputs exercise the ragged channel blocks. */
    private static ConvParams conv(Random4 r) {
        return new ConvParams("conv", r.normal(0.2f, 16, 24, 3, 3), r.normal(0.5f, 16), ConvGeometry.same3x3());
    }

    private static float[] run(VectorBackend.Winograd tile, ConvParams p, Tensor in, boolean upsample) {
        try (VectorBackend b = new VectorBackend(2, tile)) {
            VectorConv c = (VectorConv) b.prepareConv(p);
            try (c; Tensor out = upsample ? b.upsampleConv2d(in, c) : b.conv2d(in, c, null)) {
                return out.toFloatArray();
            }
        }
    }

    private List<Path> entries() throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".prepared")).sorted().toList();
        }
    }

    @Test
    void cachedTransformsGiveTheUncachedBits() throws IOException {
        Random4 r = new Random4(11);
        ConvParams p = conv(r);
        try (Tensor in = r.normal(1f, 1, 24, 19, 21)) {
            int files = 0;
            for (VectorBackend.Winograd tile : new VectorBackend.Winograd[]{VectorBackend.Winograd.F2X2,
                    VectorBackend.Winograd.F4X4, VectorBackend.Winograd.F6X6}) {
                for (boolean upsample : new boolean[]{false, true}) {
                    String what = tile + (upsample ? " upsampled" : "");
                    PreparedCache.setEnabled(false);
                    float[] expected = run(tile, p, in, upsample);
                    assertEquals(files, entries().size(), what + ": off writes nothing");
                    PreparedCache.setEnabled(true);
                    assertArrayEquals(expected, run(tile, p, in, upsample), what + ": made and stored");
                    // F(2x2) runs upsampling convolutions on the upsampled planes, with its one transform.
                    files += upsample && tile == VectorBackend.Winograd.F2X2 ? 0 : 1;
                    assertEquals(files, entries().size(), what + ": one entry per transform");
                    assertArrayEquals(expected, run(tile, p, in, upsample), what + ": mapped from the cache");
                    assertEquals(files, entries().size(), what);
                }
            }
        }
    }

    @Test
    void aCorruptTruncatedOrForeignEntryIsRebuilt() throws IOException {
        Random4 r = new Random4(12);
        ConvParams p = conv(r);
        VectorBackend.Winograd tile = VectorBackend.Winograd.F4X4;
        try (Tensor in = r.normal(1f, 1, 24, 17, 16)) {
            PreparedCache.setEnabled(false);
            float[] expected = run(tile, p, in, false);
            PreparedCache.setEnabled(true);
            run(tile, p, in, false);
            Path entry = entries().getFirst();
            byte[] good = Files.readAllBytes(entry);

            flipByte(entry, good.length - 5);
            assertArrayEquals(expected, run(tile, p, in, false), "payload bit flipped");
            assertArrayEquals(good, Files.readAllBytes(entry), "rewritten whole");

            flipByte(entry, 20);
            assertArrayEquals(expected, run(tile, p, in, false), "header (key) byte flipped");
            assertArrayEquals(good, Files.readAllBytes(entry));

            try (FileChannel ch = FileChannel.open(entry, StandardOpenOption.WRITE)) {
                ch.truncate(good.length - 4096);
            }
            assertArrayEquals(expected, run(tile, p, in, false), "truncated");
            assertArrayEquals(good, Files.readAllBytes(entry));

            Files.write(entry, new byte[100]);
            assertArrayEquals(expected, run(tile, p, in, false), "shorter than a header");
            assertArrayEquals(good, Files.readAllBytes(entry));

            // Another convolution's entry under this one's name: its key does not match.
            ConvParams other = conv(r);
            run(tile, other, in, false);
            Path otherEntry = entries().stream().filter(f -> !f.equals(entry)).findFirst().orElseThrow();
            Files.copy(otherEntry, entry, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            assertArrayEquals(expected, run(tile, p, in, false), "an entry stored under another key");
            assertArrayEquals(good, Files.readAllBytes(entry));
        }
    }

    private static void flipByte(Path file, long at) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x10));
            ch.write(b.rewind(), at);
        }
    }

    @Test
    void pruningKeepsTheMostRecentlyUsedEntriesUnderTheLimit() throws IOException {
        Random4 r = new Random4(13);
        try (Tensor in = r.normal(1f, 1, 24, 8, 8)) {
            for (int i = 0; i < 3; i++) {
                run(VectorBackend.Winograd.F4X4, conv(r), in, false);
            }
        }
        List<Path> all = entries();
        assertEquals(3, all.size());
        long one = Files.size(all.getFirst());
        for (int i = 0; i < all.size(); i++) {
            Files.setLastModifiedTime(all.get(i), java.nio.file.attribute.FileTime.fromMillis(1_000_000L * (i + 1)));
        }
        Files.writeString(cache.resolve(".tmp-left-by-a-killed-process"), "x");
        Files.setLastModifiedTime(cache.resolve(".tmp-left-by-a-killed-process"),
                java.nio.file.attribute.FileTime.fromMillis(0));
        PreparedCache.prune(cache, 2 * one);
        assertEquals(all.subList(1, 3), entries(), "the least recently used entry goes");
        assertFalse(Files.exists(cache.resolve(".tmp-left-by-a-killed-process")), "stale temporary files go");
    }

    @Test
    void aOnePassRunFreesEachTransformAfterUseWithTheSameResult() {
        Random4 r = new Random4(14);
        ConvParams p = conv(r);
        PreparedCache.setEnabled(false);
        try (VectorBackend b = new VectorBackend(2, VectorBackend.Winograd.F4X4);
             Tensor in = r.normal(1f, 1, 24, 12, 12)) {
            VectorConv c = (VectorConv) b.prepareConv(p);
            try (c; Tensor kept = b.conv2d(in, c, null)) {
                Tensor u = c.winograd(false, b.parallel());
                assertTrue(c.cachedInRam(u), "kept outside a one-pass run");
                try (Tensor once = OnePass.run(() -> b.conv2d(in, c, null))) {
                    assertFalse(u.data().scope().isAlive(), "freed after its one use");
                    assertArrayEquals(kept.toFloatArray(), once.toFloatArray());
                }
                try (Tensor again = OnePass.run(() -> b.conv2d(in, c, null))) {
                    assertArrayEquals(kept.toFloatArray(), again.toFloatArray(), "made again when called again");
                }
                Tensor after = c.winograd(false, b.parallel());
                assertTrue(c.cachedInRam(after));
            }
        }
    }
}
