package io.vae4j.server;

/** A request the server refuses: the HTTP status and a one-line reason for the client's JSON error body. */
final class HttpError extends RuntimeException {
    final int status;
    /** Seconds a client should wait before retrying (429, 503), or 0. */
    final int retryAfter;

    HttpError(int status, String message) {
        this(status, message, 0);
    }

    HttpError(int status, String message, int retryAfter) {
        super(message, null, false, false);
        this.status = status;
        this.retryAfter = retryAfter;
    }
}
