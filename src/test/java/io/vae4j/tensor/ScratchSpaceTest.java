package io.vae4j.tensor;

import io.vae4j.VaeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScratchSpaceTest {
    @TempDir
    Path dir;

    private long entries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void largeTensorsAreMappedFilesThatLeaveNoNameBehind() throws IOException {
        try (ScratchSpace space = new ScratchSpace(dir, 1 << 20, 0)) {
            space.run(() -> {
                try (Tensor big = Tensor.uninitialized(1, 4, 256, 256); Tensor small = Tensor.uninitialized(8, 8);
                     Tensor band = Tensor.workspace(1, 4, 256, 256)) {
                    assertEquals(big.numel() * 4, space.liveBytes(), "only the large tensor is in scratch");
                    for (long i = 0; i < big.numel(); i++) {
                        big.set(i, i % 1000);
                    }
                    try {
                        assertEquals(0, entries(), "files are unlinked as soon as they are opened");
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                    space.releaseAll();
                    for (long i = 0; i < big.numel(); i += 4097) {
                        assertEquals(i % 1000, big.get(i), "released pages keep their contents");
                    }
                }
                return null;
            });
            assertEquals(0, space.liveBytes());
            assertEquals(4L * 256 * 256 * 4, space.peakBytes());
            assertEquals(1, space.files());
        }
        assertEquals(0, entries());
    }

    /**
     * A kept tensor (a convolution's transform) is made once per space, in a scratch file; after the trimmer has
     * released its pages, reading it just faults them back in with their contents; it is unmapped with the space.
     */
    @Test
    void keptTensorsAreMadeOnceSurviveReleasesAndCloseWithTheSpace() throws IOException {
        int[] made = {0};
        Tensor kept;
        try (ScratchSpace space = new ScratchSpace(dir, 1 << 20, 0)) {
            assertNull(ScratchSpace.kept("u", () -> Tensor.uninitialized(4)), "outside a run");
            kept = space.run(() -> ScratchSpace.kept("u", () -> {
                made[0]++;
                Tensor t = Tensor.uninitialized(16, 256, 256);
                for (long i = 0; i < t.numel(); i++) {
                    t.set(i, i % 997);
                }
                return t;
            }));
            assertSame(kept, space.run(() -> ScratchSpace.kept("u", () -> {
                made[0]++;
                return Tensor.uninitialized(16, 256, 256);
            })));
            assertEquals(1, made[0]);
            assertEquals(kept.numel() * 4, space.liveBytes(), "in a scratch file");
            space.releaseAll();
            for (long i = 0; i < kept.numel(); i += 1021) {
                assertEquals(i % 997, kept.get(i), "released pages fault back in with their contents");
            }
        }
        assertFalse(kept.data().scope().isAlive(), "unmapped with the space");
        assertEquals(0, entries());
    }

    @Test
    void allocateInScratchIsZeroed() {
        try (ScratchSpace space = new ScratchSpace(dir, 0, 0)) {
            space.run(() -> {
                try (Tensor t = Tensor.allocate(3, 1000, 17)) {
                    for (long i = 0; i < t.numel(); i++) {
                        assertEquals(0f, t.get(i));
                    }
                }
                return null;
            });
        }
    }

    @Test
    void outsideTheScopeTensorsStayInRam() {
        try (ScratchSpace space = new ScratchSpace(dir, 0, 0); Tensor t = Tensor.uninitialized(1, 4, 64, 64)) {
            assertEquals(0, space.files());
        }
    }

    @Test
    void aScratchFileThatCannotBeMadeIsOneClearError() throws IOException {
        Path gone = Files.createDirectory(dir.resolve("gone"));
        try (ScratchSpace space = new ScratchSpace(gone, 0, 0)) {
            Files.delete(gone);
            VaeException e = assertThrows(VaeException.class, () -> space.run(() -> Tensor.allocate(1, 1000)));
            assertTrue(e.getMessage().startsWith("scratch directory " + gone), e.getMessage());
            assertTrue(e.getMessage().contains("No such file"), e.getMessage());
            assertEquals(0, space.liveBytes());
        }
    }

    @Test
    void aDirectoryThatIsNotOneIsRefused() throws IOException {
        Path file = Files.writeString(dir.resolve("f"), "x");
        VaeException e = assertThrows(VaeException.class, () -> new ScratchSpace(file, 0, 0));
        assertEquals("--scratch " + file + ": not a directory", e.getMessage());
    }

    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    @Test
    void releasedPagesLeaveTheResidentSet() throws IOException {
        try (ScratchSpace space = new ScratchSpace(dir, 0, 0)) {
            Tensor t = space.run(() -> Tensor.uninitialized(64, 1024, 1024));
            try (t) {
                long before = residentBytes();
                for (long i = 0; i < t.numel(); i += 1024) {
                    t.set(i, 1f);
                }
                long touched = residentBytes();
                space.releaseAll();
                long released = residentBytes();
                System.err.printf("RSS %d MiB, after touching 256 MiB of scratch %d MiB, released %d MiB%n",
                        before >> 20, touched >> 20, released >> 20);
                assertTrue(touched - before > 200L << 20, "touching maps the pages in");
                assertTrue(touched - released > 200L << 20, "releasing drops them");
                assertEquals(1f, t.get(1024 * 1000));
            }
        }
    }

    private static long fileResidentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("RssFile:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    /** A kernel writing 512 MiB of scratch in 8 MiB bands with a checkpoint after each stays near the slack. */
    @Test
    void checkpointsBetweenBandsBoundTheResidentScratch() throws IOException {
        long slack = 64L << 20;
        try (ScratchSpace space = new ScratchSpace(dir, 0, slack)) {
            Tensor t = space.run(() -> Tensor.uninitialized(64, 2048, 1024));
            try (t) {
                long start = fileResidentBytes(), max = start;
                long band = 2L << 20;
                for (long i = 0; i < t.numel(); i += band) {
                    for (long j = i; j < i + band; j += 1024) {
                        t.set(j, 2f);
                    }
                    ScratchSpace.checkpoint();
                    max = Math.max(max, fileResidentBytes());
                }
                System.err.printf("512 MiB written in 8 MiB bands, 64 MiB slack: file RSS rose by at most %d MiB,"
                        + " %d releases%n", (max - start) >> 20, space.releases());
                assertTrue(max - start < slack + (48L << 20), "rose by " + ((max - start) >> 20) + " MiB");
            }
        }
    }

    /**
     * Convolution bands touch a few rows of every channel: far-apart small pieces. Each write must map about the
     * page it touches, not a whole large folio around it (which made 512 touches cost 1 GiB).
     */
    @Test
    void scatteredTouchesMapLittle() throws IOException {
        try (ScratchSpace space = new ScratchSpace(dir, 0, 0)) {
            Tensor t = space.run(() -> Tensor.uninitialized(256, 1024, 1024));
            try (t) {
                for (int c = 0; c < 256; c++) {
                    t.set((long) c * 1024 * 1024, 1f);
                }
                space.releaseAll();
                long start = fileResidentBytes();
                for (int c = 0; c < 256; c++) {
                    t.set((long) c * 1024 * 1024 + 4096, 2f);
                    t.get((long) c * 1024 * 1024 + 65536);
                }
                long rose = fileResidentBytes() - start;
                System.err.printf("512 scattered touches of 1 GiB of scratch: file RSS rose by %d KiB%n", rose >> 10);
                assertTrue(rose < 64L << 20, "rose by " + (rose >> 20) + " MiB");
            }
        }
    }

    /**
     * A convolution's band writes a few rows of every channel: 512 channels of 512x512, 30 rows a band, checkpoint
     * after each. The resident scratch must stay near the slack: each band maps about what it writes.
     */
    @Test
    void channelBandsStayNearTheSlack() throws IOException {
        long slack = 64L << 20;
        try (ScratchSpace space = new ScratchSpace(dir, 0, slack)) {
            Tensor t = space.run(() -> Tensor.uninitialized(512, 512, 512));
            try (t) {
                long start = fileResidentBytes(), max = start;
                // Written by one layer, then read back by the next: the second pass faults in cached pages.
                for (int pass = 0; pass < 2; pass++) {
                    for (int y0 = 0; y0 < 512; y0 += 30) {
                        for (int c = 0; c < 512; c++) {
                            for (int y = y0; y < Math.min(512, y0 + 30); y++) {
                                for (int x = 0; x < 512; x += 256) {
                                    long i = ((long) c * 512 + y) * 512 + x;
                                    if (pass == 0) {
                                        t.set(i, 1f);
                                    } else {
                                        assertEquals(1f, t.get(i));
                                    }
                                }
                            }
                        }
                        ScratchSpace.checkpoint();
                        max = Math.max(max, fileResidentBytes());
                    }
                }
                System.err.printf("bands of 30 rows x 512 channels: file RSS rose by at most %d MiB (slack %d)%n",
                        (max - start) >> 20, slack >> 20);
                assertTrue(max - start < slack + (64L << 20), "rose by " + ((max - start) >> 20) + " MiB");
            }
        }
    }

    @Test
    void theTrimmerReleasesPagesAndKeepsContents() {
        try (ScratchSpace space = new ScratchSpace(dir, 0, 8L << 20)) {
            space.run(() -> {
                try (Tensor t = Tensor.uninitialized(64, 1024, 1024)) {
                    for (int round = 0; round < 2; round++) {
                        for (long i = 0; i < t.numel(); i += 256) {
                            t.set(i, (float) (i + round));
                        }
                    }
                    for (long i = 0; i < t.numel(); i += 256) {
                        assertEquals((float) (i + 1), t.get(i));
                    }
                }
                return null;
            });
            assertTrue(space.releases() > 0, "256 MiB touched with 8 MiB of slack: pages were released");
        }
    }
}
