package io.vae4j.format.json;

import io.vae4j.VaeException;

/** Malformed JSON. {@link #offset()} is the index of the offending character in the parsed string. */
public final class JsonException extends VaeException {
    private final int offset;

    public JsonException(String message, int offset) {
        super(message + " at offset " + offset);
        this.offset = offset;
    }

    public int offset() {
        return offset;
    }
}
