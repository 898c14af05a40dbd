package io.vae4j.backend;

/**
 * The backends' few notes (which backend "auto" chose, why one is unavailable): one line each on stderr, silenced
 * by the system property {@code vae4j.quiet=true} or by the CLI's {@code --quiet}.
 */
public final class BackendLog {
    private static volatile boolean quiet = Boolean.getBoolean("vae4j.quiet");

    private BackendLog() {
    }

    public static void quiet(boolean q) {
        quiet = q;
    }

    public static boolean quiet() {
        return quiet;
    }

    public static void info(String message) {
        if (!quiet) {
            System.err.println("vae4j: " + message);
        }
    }
}
