package io.vae4j;

/**
 * An error the user can act on: bad file, bad shape, bad argument. The CLI prints its message as one line
 * and exits non-zero; it never prints a stack trace for these. The message names the file or field and what
 * was expected.
 *
 * <p>Messages quote pieces of the input (a key, a dtype, a name), which may hold any character: control characters
 * are escaped here ({@code \n}, {@code \u0000}), so that the message stays one line whatever the input.
 */
public class VaeException extends RuntimeException {
    public VaeException(String message) {
        super(oneLine(message));
    }

    public VaeException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    private static String oneLine(String message) {
        if (message == null || message.chars().noneMatch(c -> c < 0x20 || c == 0x7f)) {
            return message;
        }
        StringBuilder sb = new StringBuilder(message.length() + 16);
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }
}
