package io.vae4j.util;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** Turns I/O exceptions into the short reasons our one-line errors end with. */
public final class IoErrors {
    private IoErrors() {
    }

    /** A short human-readable reason for an I/O failure. */
    public static String reason(Throwable e) {
        return switch (e) {
            case AccessDeniedException a -> "permission denied";
            case NoSuchFileException n -> "no such file or directory";
            case FileSystemException f when f.getReason() != null -> f.getReason();
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
    }
}
