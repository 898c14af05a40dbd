package io.vae4j.cli;

import io.vae4j.format.MappedWeightFiles;

import java.io.PrintStream;

/** Entry point of ./vae4j: one line of error for anything the user can fix, never a stack trace. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs a command and returns the exit status: 0 done, 1 failed (bad input), 2 bad command line. The parsing,
     * help and error conventions are {@link Vae4jCommand}'s and {@link Failures}'.
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            return Vae4jCommand.commandLine(out, err).execute(args);
        } catch (NoClassDefFoundError e) {
            // picocli and serve's HTTP server (Helidon) are optional dependencies: the launcher puts target/lib on
            // the class path.
            String what = String.valueOf(e.getMessage()).startsWith("picocli") || args.length == 0 ? "the CLI"
                    : args[0];
            err.println("vae4j: error: " + what + " needs the libraries in target/lib (made by ./mvnw package;"
                    + " run it through ./vae4j): missing " + e.getMessage());
            return Failures.BAD_INPUT;
        } catch (InternalError e) {
            if (!MappedWeightFiles.isMappingFault(e)) {
                throw e;
            }
            err.println("vae4j: error: " + MappedWeightFiles.explain());
            return Failures.BAD_INPUT;
        } catch (OutOfMemoryError e) {
            err.println("vae4j: error: out of memory (" + e.getMessage() + "); try a smaller input or more memory");
            return Failures.BAD_INPUT;
        } finally {
            out.flush();
            err.flush();
        }
    }
}
