package io.vae4j.format.image;

import io.vae4j.VaeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicWriteTest {

    @TempDir
    Path dir;

    @Test
    void writesTheWholeFile() throws IOException {
        Path target = dir.resolve("out.bin");
        AtomicWrite.write(target, out -> out.write("hello".getBytes(StandardCharsets.UTF_8)));
        assertEquals("hello", Files.readString(target));
        assertEquals(List.of("out.bin"), list());
    }

    @Test
    void failureMidWriteKeepsTheOldFileAndRemovesTheTemporary() throws IOException {
        Path target = dir.resolve("out.bin");
        Files.writeString(target, "old");
        String[] tmpName = new String[1];
        VaeException e = assertThrows(VaeException.class, () -> AtomicWrite.write(target, out -> {
            out.write(new byte[100_000]); // past the buffer: bytes really reach the temporary file
            tmpName[0] = list().stream().filter(n -> n.startsWith(".out.bin.tmp-")).findFirst().orElse(null);
            throw new IOException("disk full");
        }));
        assertEquals("cannot write " + target + ": disk full", e.getMessage());
        assertTrue(tmpName[0] != null, "the bytes went to a hidden temporary file in the same directory");
        assertEquals("old", Files.readString(target));
        assertEquals(List.of("out.bin"), list());
    }

    @Test
    void runtimeFailureInTheBodyAlsoCleansUp() throws IOException {
        Path target = dir.resolve("new.bin");
        VaeException e = assertThrows(VaeException.class, () -> AtomicWrite.write(target, out -> {
            out.write(1);
            throw new IllegalStateException("encoder broke");
        }));
        assertTrue(e.getMessage().startsWith("cannot write " + target + ": "), e.getMessage());
        assertFalse(Files.exists(target));
        assertEquals(List.of(), list());
    }

    @Test
    void missingDirectoryNamesTheTarget() {
        Path target = dir.resolve("missing").resolve("out.bin");
        VaeException e = assertThrows(VaeException.class, () -> AtomicWrite.write(target, out -> out.write(1)));
        assertEquals("cannot write " + target + ": directory " + target.getParent() + " does not exist",
                e.getMessage());
        assertFalse(Files.exists(target.getParent()));
    }

    private List<String> list() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
