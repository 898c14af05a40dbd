package io.vae4j.cli;

/**
 * A command line that parsed but does not make sense (a value out of range, options that exclude each other): the
 * CLI prints the message with the command's usage and exits 2. Bad files are {@link io.vae4j.VaeException}s (exit 1).
 */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
