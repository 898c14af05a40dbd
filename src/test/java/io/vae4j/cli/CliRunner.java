package io.vae4j.cli;

/** The CLI's entry point for tests in other packages (the server's, which compare their results with the CLI's). */
public final class CliRunner {
    private CliRunner() {
    }

    public record Result(int status, String err) {
    }

    /** Runs ./vae4j with these arguments in this JVM; returns the exit status and stderr. */
    public static Result run(String... args) {
        CliTest.Result r = CliTest.run(args);
        return new Result(r.status(), r.err());
    }
}
