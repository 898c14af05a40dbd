package io.vae4j.cli;

import io.vae4j.backend.Backends;
import io.vae4j.backend.Precision;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * ./vae4j itself: its commands, and the help conventions they inherit (-h/--help, -V/--version, options in the
 * order given, an "Examples:" footer, 120 columns).
 */
@Command(name = "./vae4j", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true,
        versionProvider = Version.class, sortOptions = false, usageHelpWidth = Vae4jCommand.WIDTH,
        synopsisHeading = "Usage: ", descriptionHeading = "%n", parameterListHeading = "%nArguments:%n",
        optionListHeading = "%nOptions:%n", commandListHeading = "%nCommands:%n", footerHeading = "%nExamples:%n",
        customSynopsis = "./vae4j COMMAND [OPTIONS]      (./vae4j COMMAND --help: its options and examples)",
        description = "Stable Diffusion VAE encode/decode on the CPU.",
        footer = {
                "  ./vae4j encode --image examples/astronaut.png --out photo.latent.npy",
                "  ./vae4j decode --latent photo.latent.npy --out roundtrip.png",
                "  ./vae4j info models/taef2.safetensors",
                "  ./vae4j serve --model sd=vae.safetensors --port 8080",
                "  source <(./vae4j completion bash)",
                "",
                "Families: sd1, sd2, sdxl, sd3, flux1; backends: " + Backends.NAMES + "; precisions: "
                        + Precision.NAMES,
                "./vae4j COMMAND --help (or ./vae4j help COMMAND) lists a command's options."},
        subcommands = {InfoCommand.class, DecodeCommand.class, EncodeCommand.class, BenchCommand.class,
                ConvertCommand.class, InterposeCommand.class, PreviewCommand.class, ServeCommand.class,
                ModelsCommand.class, CompletionCommand.class, HelpCommand.class})
final class Vae4jCommand implements Callable<Integer> {
    /** The help's width, and that of its option column (so that --attention=auto|global|tiled|off fits). */
    static final int WIDTH = 120;
    private static final int OPTION_COLUMN = 34;

    @Spec
    private CommandSpec spec;

    /** No command: the usage, and the status of a bad command line. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Failures.BAD_COMMAND_LINE;
    }

    /** The command line with its output streams and the CLI's error conventions ({@link Failures}). */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new Vae4jCommand());
        cli.getCommandSpec().usageMessage().longOptionsMaxWidth(OPTION_COLUMN);
        for (CommandLine command : cli.getSubcommands().values()) {
            command.getCommandSpec().usageMessage().longOptionsMaxWidth(OPTION_COLUMN);
        }
        // help inherits the texts above; these are its own.
        cli.getSubcommands().get("help").getCommandSpec().usageMessage().descriptionHeading("")
                .customSynopsis("./vae4j help [COMMAND]").footer("  ./vae4j help decode");
        return cli.setOut(new PrintWriter(out, true, out.charset()))
                .setErr(new PrintWriter(err, true, err.charset()))
                .setExpandAtFiles(false)
                .setOverwrittenOptionsAllowed(true)
                .setParameterExceptionHandler(Failures::badCommandLine)
                .setExecutionExceptionHandler(Failures::failed);
    }
}
