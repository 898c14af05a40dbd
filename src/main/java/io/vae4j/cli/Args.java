package io.vae4j.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line options: {@code --name value} pairs, {@code --flag}s and positional arguments. Every command
 * declares the options it knows; anything else is a usage error.
 */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    /** Every value of each option, in order, for options that may repeat ({@code serve --model}). */
    private final Map<String, List<String>> all = new HashMap<>();
    private final Set<String> flags = new HashSet<>();
    private final List<String> positional = new ArrayList<>();

    /** Thrown for a malformed command line; the CLI prints it with the command's usage. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    Args(String[] argv, int from, Set<String> valueOptions, Set<String> flagOptions) {
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (a.startsWith("--")) {
                String name = a.substring(2);
                String inline = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    inline = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (valueOptions.contains(name)) {
                    if (inline == null) {
                        if (i + 1 >= argv.length) {
                            throw new UsageException("--" + name + " needs a value");
                        }
                        inline = argv[++i];
                    }
                    values.put(name, inline);
                    all.computeIfAbsent(name, k -> new ArrayList<>()).add(inline);
                } else if (flagOptions.contains(name) && inline == null) {
                    flags.add(name);
                } else {
                    throw new UsageException("unknown option --" + name);
                }
            } else {
                positional.add(a);
            }
        }
    }

    String get(String name) {
        return values.get(name);
    }

    String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    /** Every value given for a repeatable option, in order; empty when none. */
    List<String> all(String name) {
        return all.getOrDefault(name, List.of());
    }

    String require(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new UsageException("missing --" + name);
        }
        return v;
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    int integer(String name, int fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects an integer, got '" + v + "'");
        }
    }

    long longValue(String name, long fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects an integer, got '" + v + "'");
        }
    }

    List<String> positional() {
        return positional;
    }
}
