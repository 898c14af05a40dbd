package io.vae4j.spark;

import io.vae4j.VaeException;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One command's options: {@code --name value} pairs and bare flags, each allowed by name, at most once. */
final class JobArgs {
    private final String command;
    private final Map<String, String> values = new HashMap<>();

    private JobArgs(String command) {
        this.command = command;
    }

    static JobArgs parse(String command, List<String> args, Set<String> valued, Set<String> flags) {
        JobArgs a = new JobArgs(command);
        for (int i = 0; i < args.size(); i++) {
            String name = args.get(i);
            String value;
            if (flags.contains(name)) {
                value = "true";
            } else if (valued.contains(name)) {
                if (i + 1 == args.size()) {
                    throw new VaeException(command + ": " + name + " needs a value");
                }
                value = args.get(++i);
            } else {
                throw new VaeException(command + ": unknown option '" + name + "' (expected one of "
                        + new java.util.TreeSet<>(union(valued, flags)) + ")");
            }
            if (a.values.put(name, value) != null) {
                throw new VaeException(command + ": " + name + " given twice");
            }
        }
        return a;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new java.util.HashSet<>(a);
        u.addAll(b);
        return u;
    }

    String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new VaeException(command + ": missing " + name);
        }
        return v;
    }

    String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    /** A whole number of at least {@code min}, or the fallback when the option is absent. */
    long number(String name, long fallback, long min) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            long n = Long.parseLong(v);
            if (n >= min) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new VaeException(command + ": " + name + " must be a whole number of at least " + min + ", got '" + v
                + "'");
    }
}
