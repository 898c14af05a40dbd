package io.vae4j.util;

import io.vae4j.VaeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReplaces() throws IOException {
        Path out = dir.resolve("out.bin");
        AtomicFiles.write(out, tmp -> Files.writeString(tmp, "first"));
        assertEquals("first", Files.readString(out));
        AtomicFiles.write(out, tmp -> Files.writeString(tmp, "second"));
        assertEquals("second", Files.readString(out));
        assertEquals(List.of(out), listing());
    }

    @Test
    void writerGetsAnEmptyTempFileInTheTargetDirectory() throws IOException {
        Path out = dir.resolve("out.bin");
        AtomicFiles.write(out, tmp -> {
            assertEquals(dir.toAbsolutePath(), tmp.getParent());
            assertEquals(0, Files.size(tmp));
            assertFalse(Files.exists(out), "target must not appear before the writer finishes");
        });
        assertTrue(Files.exists(out));
    }

    @Test
    void failedWriteLeavesNoTargetAndNoTempFile() throws IOException {
        Path out = dir.resolve("out.bin");
        VaeException e = assertThrows(VaeException.class, () -> AtomicFiles.write(out, tmp -> {
            Files.writeString(tmp, "partial");
            throw new IOException("disk full");
        }));
        assertTrue(e.getMessage().contains("out.bin") && e.getMessage().contains("disk full"), e.getMessage());
        assertEquals(List.of(), listing());
    }

    @Test
    void failedWriteKeepsTheOldTarget() throws IOException {
        Path out = dir.resolve("out.bin");
        Files.writeString(out, "old");
        RuntimeException boom = new UncheckedIOException(new IOException("boom"));
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> AtomicFiles.write(out, tmp -> {
            Files.writeString(tmp, "new");
            throw boom;
        }));
        assertSame(boom, thrown, "unchecked failures pass through unchanged");
        assertEquals("old", Files.readString(out));
        assertEquals(List.of(out), listing());
    }

    @Test
    void missingDirectory() {
        Path out = dir.resolve("nope/out.bin");
        VaeException e = assertThrows(VaeException.class, () -> AtomicFiles.write(out, tmp -> { }));
        assertEquals("cannot write " + out + ": directory " + out.toAbsolutePath().getParent() + " does not exist",
                e.getMessage());
    }

    @Test
    void parentIsAFile() throws IOException {
        Files.writeString(dir.resolve("file"), "x");
        Path out = dir.resolve("file/out.bin");
        VaeException e = assertThrows(VaeException.class, () -> AtomicFiles.write(out, tmp -> { }));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }

    @Test
    void targetIsADirectory() throws IOException {
        Path out = Files.createDirectory(dir.resolve("out.bin"));
        VaeException e = assertThrows(VaeException.class, () -> AtomicFiles.write(out, tmp -> { }));
        assertTrue(e.getMessage().endsWith("it is a directory"), e.getMessage());
    }

    @Test
    void readOnlyDirectory() throws IOException {
        assumeTrue(Files.getFileStore(dir).supportsFileAttributeView("posix"), "needs POSIX permissions");
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeTrue(!Files.isWritable(ro), "running as a user that ignores permissions (root?)");
            Path out = ro.resolve("out.bin");
            VaeException e = assertThrows(VaeException.class, () -> AtomicFiles.write(out, tmp -> { }));
            assertTrue(e.getMessage().contains("is not writable"), e.getMessage());
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void resultIsNotOwnerOnly() throws IOException {
        assumeTrue(Files.getFileStore(dir).supportsFileAttributeView("posix"), "needs POSIX permissions");
        Path out = dir.resolve("out.bin");
        Path reference = Files.createFile(dir.resolve("reference"));
        AtomicFiles.write(out, tmp -> Files.writeString(tmp, "x"));
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(reference);
        assertEquals(expected, Files.getPosixFilePermissions(out), "same mode as any new file (umask)");
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
