package io.vae4j.cli;

/** Progress and notes go to stderr, so stdout stays for results; --quiet silences the notes. */
final class Log {
    static volatile boolean quiet = Boolean.getBoolean("vae4j.quiet");

    private Log() {
    }

    static void info(String message) {
        if (!quiet) {
            System.err.println("vae4j: " + message);
        }
    }

    static void warn(String message) {
        System.err.println("vae4j: warning: " + message);
    }
}
