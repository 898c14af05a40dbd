package io.vae4j.server;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * A request's query parameters, read the way the remote-VAE clients write them (Python's {@code str()} of each
 * value: {@code True}/{@code False}, {@code 0.18215}, repeated keys for lists). A bad value is a 400 naming the
 * parameter; unknown parameters are ignored.
 */
final class Query {
    /** Every value of a parameter, in order; empty when absent. */
    private final Function<String, List<String>> values;

    Query(Function<String, List<String>> values) {
        this.values = values;
    }

    String get(String name) {
        List<String> v = values.apply(name);
        return v == null || v.isEmpty() ? null : v.getLast();
    }

    String get(String name, String fallback) {
        String v = get(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    boolean has(String name) {
        String v = get(name);
        return v != null && !v.isEmpty() && !v.equals("None");
    }

    boolean bool(String name, boolean fallback) {
        if (!has(name)) {
            return fallback;
        }
        return switch (get(name).toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new HttpError(400, "query parameter '" + name + "' must be True or False, got '"
                    + get(name) + "'");
        };
    }

    /** A finite number, or null when absent. */
    Double number(String name) {
        if (!has(name)) {
            return null;
        }
        try {
            double d = Double.parseDouble(get(name));
            if (Double.isFinite(d)) {
                return d;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new HttpError(400, "query parameter '" + name + "' must be a finite number, got '" + get(name) + "'");
    }

    /** A positive integer, or 0 when absent. */
    int positive(String name) {
        if (!has(name)) {
            return 0;
        }
        try {
            int v = Integer.parseInt(get(name).trim());
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new HttpError(400, "query parameter '" + name + "' must be a positive integer, got '" + get(name) + "'");
    }

    /**
     * The tensor shape: repeated {@code shape=} keys as diffusers sends them, or one comma-separated value (with or
     * without brackets); null when absent.
     */
    int[] shape() {
        List<String> raw = values.apply("shape");
        if (raw == null || raw.isEmpty()) {
            return null;
        }
        List<String> parts = raw.size() == 1
                ? List.of(raw.getFirst().replace("[", "").replace("]", "").replace("(", "").replace(")", "")
                .split(",", -1))
                : raw;
        if (parts.size() > 8) {
            throw new HttpError(400, "query parameter 'shape' has " + parts.size() + " dimensions; at most 5 make"
                    + " sense");
        }
        int[] shape = new int[parts.size()];
        for (int i = 0; i < shape.length; i++) {
            try {
                shape[i] = Integer.parseInt(parts.get(i).trim());
            } catch (NumberFormatException e) {
                shape[i] = -1;
            }
            if (shape[i] <= 0) {
                throw new HttpError(400, "query parameter 'shape' must be positive integers, got " + raw);
            }
        }
        return shape;
    }

    /** The dtype named by {@code dtype}, or {@code fallback} when absent. */
    WireDType dtype(WireDType fallback) {
        if (!has("dtype")) {
            return fallback;
        }
        WireDType d = WireDType.parse(get("dtype"));
        if (d == null) {
            throw new HttpError(400, "query parameter 'dtype' must be float16, float32, bfloat16 or uint8, got '"
                    + get("dtype") + "'");
        }
        return d;
    }
}
