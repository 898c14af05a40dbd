package io.vae4j.cli;

import io.vae4j.backend.Backend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.model.Model;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.ModelLoader;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;

/** ./vae4j info MODEL: what was detected, how big it is, what it needs. */
final class InfoCommand {
    static final String USAGE = "info MODEL [--family F]";

    private InfoCommand() {
    }

    static void run(String[] argv, PrintStream out) {
        Args args = new Args(argv, 1, Set.of("family"), Set.of());
        if (args.positional().size() != 1) {
            throw new Args.UsageException("info takes one model path");
        }
        // Loading prepares weights for a backend; the scalar one prepares nothing beyond dtype conversion.
        Backend backend = new ScalarBackend();
        try (Model model = ModelLoader.load(Path.of(args.positional().getFirst()), backend,
                ModelOptions.family(args))) {
            print(model, out);
        }
    }

    static void print(Model model, PrintStream out) {
        ModelInfo i = model.info();
        out.println("file:          " + i.source());
        out.println("layout:        " + i.layout());
        out.println("architecture:  " + i.architecture());
        out.println("family:        " + i.latentSpace().describe());
        StringBuilder p = new StringBuilder();
        i.parameters().forEach((part, n) -> p.append(part).append(' ').append(String.format("%,d", n)).append("; "));
        out.println("parameters:    " + p + "total " + String.format("%,d", i.totalParameters()));
        out.println("dtype:         " + i.dtypes());
        out.println("latent:        " + model.vae().latentChannels() + " channels, 1/" + model.vae().downscale()
                + " of the image size; images in " + (model.vae().imageRange().name().equals("ZERO_ONE")
                ? "[0, 1]" : "[-1, 1]"));
        out.printf("memory:        weights %s (memory-mapped), up to %s more to widen 16-bit weights on use;%n"
                        + "               about %s of activations for an untiled 512x512 decode%n",
                mb(i.weightBytes()), mb(i.convertedBytes()),
                model.vae().canDecode() ? mb(model.vae().decodeActivationBytes(512, 512)) : "n/a");
    }

    static String mb(long bytes) {
        return String.format("%.1f MB", bytes / 1e6);
    }
}
