package io.vae4j;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Locates the shared conformance fixtures: {@code VAE4J_CONFORMANCE} (system property, then environment), else
 * {@code ../shared/conformance} next to the project. Tests that need them skip when they are absent, so the
 * project still builds and tests from a bare checkout.
 */
public final class Conformance {
    public static final String VARIABLE = "VAE4J_CONFORMANCE";

    private Conformance() {
    }

    public static Optional<Path> dir() {
        String configured = System.getProperty(VARIABLE);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(VARIABLE);
        }
        Path dir = configured != null && !configured.isBlank()
                ? Path.of(configured)
                : Path.of(System.getProperty("user.dir")).resolve("../shared/conformance").normalize();
        return Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
    }

    public static Path dirOrSkip() {
        Optional<Path> dir = dir();
        Assumptions.assumeTrue(dir.isPresent(), "conformance fixtures not found (set " + VARIABLE + ")");
        return dir.get();
    }

    /** A file under the fixtures directory; skips the test when the directory or the file is missing. */
    public static Path fileOrSkip(String relative) {
        Path file = dirOrSkip().resolve(relative);
        Assumptions.assumeTrue(Files.isRegularFile(file), "conformance fixture " + relative + " not found");
        return file;
    }
}
