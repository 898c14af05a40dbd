package io.vae4j;

/**
 * An error the user can act on: bad file, bad shape, bad argument. The CLI prints its message as one line
 * and exits non-zero; it never prints a stack trace for these. The message names the file or field and what
 * was expected.
 */
public class VaeException extends RuntimeException {
    public VaeException(String message) {
        super(message);
    }

    public VaeException(String message, Throwable cause) {
        super(message, cause);
    }
}
