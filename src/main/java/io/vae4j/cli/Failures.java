package io.vae4j.cli;

import io.vae4j.VaeException;
import picocli.CommandLine;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.PrintWriter;
import java.util.List;
import java.util.Set;

/**
 * How the CLI reports what went wrong: a bad command line (picocli's parse errors and {@link UsageException}) is
 * "vae4j: MESSAGE", the command's usage and exit 2; bad input ({@link VaeException}) is one line, "vae4j: error:
 * MESSAGE", and exit 1. Never a stack trace for anything the user can fix.
 */
final class Failures {
    static final int BAD_INPUT = 1;
    static final int BAD_COMMAND_LINE = 2;

    private Failures() {
    }

    /** picocli's parse errors, as one line in the CLI's words (with suggestions for a mistyped option or command). */
    static int badCommandLine(ParameterException e, String[] args) {
        return usage(e.getCommandLine(), message(e));
    }

    /** What the commands throw: usage errors and bad input; anything else is a bug and keeps its stack trace. */
    static int failed(Exception e, CommandLine command, ParseResult parsed) throws Exception {
        if (e instanceof UsageException) {
            return usage(command, e.getMessage());
        }
        if (e instanceof VaeException) {
            command.getErr().println("vae4j: error: " + e.getMessage());
            return BAD_INPUT;
        }
        throw e;
    }

    private static int usage(CommandLine command, String message) {
        PrintWriter err = command.getErr();
        err.println("vae4j: " + message);
        err.println("usage: " + synopsis(command));
        return BAD_COMMAND_LINE;
    }

    /** The command's synopsis on one line (its customSynopsis is wrapped for the help). */
    static String synopsis(CommandLine command) {
        String[] lines = command.getCommandSpec().usageMessage().customSynopsis();
        return lines.length == 0 ? command.getCommandSpec().qualifiedName()
                : String.join(" ", lines).replaceAll("\\s+", " ").strip();
    }

    /** The one line for a parse error: unknown option or command (and what was meant), missing or bad value. */
    static String message(ParameterException e) {
        if (e instanceof UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = u.getUnmatched().getFirst();
            String what = arg.startsWith("-") ? "unknown option " + arg.split("=", 2)[0]
                    : e.getCommandLine().getParent() == null ? "unknown command '" + arg + "'"
                    : "unexpected argument '" + arg + "'";
            List<String> suggestions = suggestions(u, arg);
            return suggestions.isEmpty() ? what : what + " (did you mean " + or(suggestions) + "?)";
        }
        if (e instanceof MissingParameterException m) {
            for (ArgSpec missing : m.getMissing()) {
                if (missing instanceof OptionSpec o) {
                    return o.longestName() + " needs a value";
                }
            }
        } else if (e.getArgSpec() instanceof OptionSpec o && e.getValue() != null && INTEGERS.contains(o.type())) {
            return o.longestName() + " expects an integer, got '" + e.getValue() + "'";
        }
        // picocli's own sentences ("Unknown subcommand 'x'."), in the CLI's style.
        String m = e.getMessage().lines().findFirst().orElse("bad command line");
        m = m.endsWith(".") ? m.substring(0, m.length() - 1) : m;
        return m.isEmpty() ? m : Character.toLowerCase(m.charAt(0)) + m.substring(1);
    }

    /**
     * For an option, those an edit or two away (one for short names: {@code --prot}: {@code --port}), else picocli's
     * (the options that begin alike); for a command, picocli's (the commands alike by their letters).
     */
    static List<String> suggestions(UnmatchedArgumentException e, String arg) {
        if (arg.startsWith("--")) {
            String name = arg.split("=", 2)[0];
            int most = name.length() <= 6 ? 1 : 2;
            List<String> close = e.getCommandLine().getCommandSpec().options().stream().filter(o -> !o.hidden())
                    .map(OptionSpec::longestName).filter(n -> n.startsWith("--") && edits(name, n) <= most).toList();
            if (!close.isEmpty()) {
                return close;
            }
        }
        return e.getSuggestions();
    }

    /** The optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
    static int edits(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            for (int j = 0; j <= b.length(); j++) {
                if (i == 0 || j == 0) {
                    d[i][j] = i + j;
                    continue;
                }
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /** "a", "a or b", "a, b or c". */
    private static String or(List<String> words) {
        return words.size() == 1 ? words.getFirst()
                : String.join(", ", words.subList(0, words.size() - 1)) + " or " + words.getLast();
    }

    private static final Set<Class<?>> INTEGERS = Set.of(int.class, Integer.class, long.class, Long.class);
}
