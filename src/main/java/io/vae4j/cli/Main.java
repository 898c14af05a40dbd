package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.backend.Backends;
import io.vae4j.backend.Precision;

import java.io.PrintStream;

/** Entry point of ./vae4j: one line of error for anything the user can fix, never a stack trace. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command and returns the exit status: 0 done, 1 failed, 2 bad command line. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            usage(out);
            return args.length == 0 ? 2 : 0;
        }
        try {
            switch (args[0]) {
                case "info" -> InfoCommand.run(args, out);
                case "decode" -> DecodeCommand.run(args);
                case "encode" -> EncodeCommand.run(args);
                case "bench" -> BenchCommand.run(args, out);
                case "convert" -> ConvertCommand.run(args, out);
                case "serve" -> ServeCommand.run(args);
                default -> throw new Args.UsageException("unknown command '" + args[0] + "'");
            }
            return 0;
        } catch (Args.UsageException e) {
            err.println("vae4j: " + e.getMessage());
            err.println("usage: ./vae4j " + usageOf(args[0]));
            return 2;
        } catch (VaeException e) {
            err.println("vae4j: error: " + e.getMessage());
            return 1;
        } catch (NoClassDefFoundError e) {
            // serve's HTTP server (Helidon) is an optional dependency: the launcher puts target/lib on the class path.
            err.println("vae4j: error: " + args[0] + " needs the server's libraries (target/lib, made by ./mvnw package;"
                    + " run it through ./vae4j): missing " + e.getMessage());
            return 1;
        } catch (OutOfMemoryError e) {
            err.println("vae4j: error: out of memory (" + e.getMessage() + "); try a smaller input or more memory");
            return 1;
        }
    }

    private static String usageOf(String command) {
        return switch (command) {
            case "info" -> InfoCommand.USAGE;
            case "decode" -> DecodeCommand.USAGE;
            case "encode" -> EncodeCommand.USAGE;
            case "bench" -> BenchCommand.USAGE;
            case "convert" -> ConvertCommand.USAGE;
            case "serve" -> ServeCommand.USAGE;
            default -> "info|decode|encode|bench|convert|serve ... (./vae4j help)";
        };
    }

    private static void usage(PrintStream out) {
        out.println("vae4j: Stable Diffusion VAE encode/decode on the CPU");
        out.println("usage:");
        out.println("  ./vae4j " + InfoCommand.USAGE);
        out.println("  ./vae4j " + DecodeCommand.USAGE);
        out.println("  ./vae4j " + EncodeCommand.USAGE);
        out.println("  ./vae4j " + BenchCommand.USAGE);
        out.println("  ./vae4j " + ConvertCommand.USAGE);
        out.println("  ./vae4j " + ServeCommand.USAGE);
        out.println("families: sd1 sd2 sdxl sd3 flux1; backends: " + Backends.NAMES.replace(",", "")
                + "; precisions: " + Precision.NAMES.replace(",", ""));
    }
}
