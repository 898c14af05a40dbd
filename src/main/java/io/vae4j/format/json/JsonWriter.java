package io.vae4j.format.json;

import java.util.Map;

/** The serializer behind {@link Json#write}. */
final class JsonWriter {
    private JsonWriter() {
    }

    static void write(StringBuilder sb, Object v, int depth) {
        if (depth > Json.MAX_DEPTH) {
            // A cycle (a map containing itself) would otherwise recurse until the stack overflows.
            throw new IllegalArgumentException("JSON value nested deeper than " + Json.MAX_DEPTH);
        }
        switch (v) {
            case null -> sb.append("null");
            case String str -> string(sb, str);
            case Boolean b -> sb.append(b);
            case Long _, Integer _, Short _, Byte _ -> sb.append(v);
            case Double d -> {
                finite(d);
                sb.append(d); // Java's shortest round-trip form ("2.0", "1.0E-5") is valid JSON and reads back exactly.
            }
            case Float f -> {
                // Appending the float itself keeps 0.1f as "0.1"; widening first would print 0.10000000149011612.
                finite(f);
                sb.append(f);
            }
            case Map<?, ?> map -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!(e.getKey() instanceof String key)) {
                        throw new IllegalArgumentException("JSON object key is not a string: " + e.getKey());
                    }
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    string(sb, key);
                    sb.append(':');
                    write(sb, e.getValue(), depth + 1);
                }
                sb.append('}');
            }
            case Iterable<?> it -> {
                sb.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    write(sb, o, depth + 1);
                }
                sb.append(']');
            }
            case int[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    sb.append(i == 0 ? "" : ",").append(a[i]);
                }
                sb.append(']');
            }
            case long[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    sb.append(i == 0 ? "" : ",").append(a[i]);
                }
                sb.append(']');
            }
            default -> throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON");
        }
    }

    private static void finite(double d) {
        if (!Double.isFinite(d)) {
            throw new IllegalArgumentException("JSON has no representation for " + d);
        }
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    // U+2028/2029 are legal JSON but break JavaScript consumers that eval headers; escape them too.
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
