package io.vae4j.cli;

import io.vae4j.backend.Backend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.model.Model;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.ModelLoader;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** ./vae4j info MODEL: what was detected, how big it is, what it needs. */
@Command(name = "info",
        description = "Print what a model holds: layout, architecture, family, parameters, dtype and memory.",
        customSynopsis = "./vae4j info MODEL [--family F] [--comfy-dir DIR] [--download]",
        footer = {
                "  ./vae4j info models/taef2.safetensors",
                "  ./vae4j info sdxl-vae/ --family sdxl          # a diffusers folder, its scaling named",
                "  ./vae4j info stabilityai/sd-vae-ft-mse        # from the Hugging Face cache"})
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "a weight file or folder, ORG/NAME[@REV][:PATH], or a ComfyUI name")
    private String model;

    @Parameters(index = "1..*", hidden = true)
    private List<String> extra = List.of();

    @Option(names = "--family", paramLabel = "F", order = 20, completionCandidates = Choices.FamilyIds.class,
            description = "latent space: ${COMPLETION-CANDIDATES} (default: from the model)")
    private String family;

    @Mixin
    private SourceOptions sources;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        if (model == null || !extra.isEmpty()) {
            throw new UsageException("info takes one model path");
        }
        // Loading prepares weights for a backend; the scalar one prepares nothing beyond dtype conversion.
        Backend backend = new ScalarBackend();
        Path path = sources.resolve(model);
        var interposer = ModelLoader.interposer(path, backend);
        if (interposer.isPresent()) {
            try (var i = interposer.get()) {
                InterposeCommand.print(i, spec.commandLine().getOut());
            }
            return 0;
        }
        try (Model m = ModelLoader.load(path, backend, ModelOptions.family(family))) {
            print(m, spec.commandLine().getOut());
        }
        return 0;
    }

    static void print(Model model, PrintWriter out) {
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
