package io.vae4j.format;

import io.vae4j.VaeException;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks the contract for user-facing errors: a VaeException whose one-line message names the file and field. */
public final class BadInput {
    private BadInput() {
    }

    public static VaeException expect(Path file, Executable call, String... mentions) {
        VaeException e = assertThrows(VaeException.class, call);
        String m = e.getMessage();
        assertTrue(m.contains(file.getFileName().toString()), () -> "message does not name the file: " + m);
        for (String s : mentions) {
            assertTrue(m.contains(s), () -> "message does not mention '" + s + "': " + m);
        }
        assertFalse(m.contains("\n"), () -> "message is not one line: " + m);
        return e;
    }
}
