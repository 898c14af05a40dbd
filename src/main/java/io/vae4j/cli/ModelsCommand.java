package io.vae4j.cli;

import io.vae4j.model.source.ModelSources;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** ./vae4j models: the VAEs --model can name without a path. */
@Command(name = "models",
        description = "List the VAEs found in the Hugging Face cache and ComfyUI's folders, as --model takes them.",
        customSynopsis = "./vae4j models [--comfy-dir DIR]",
        footer = {
                "  ./vae4j models",
                "  ./vae4j models --comfy-dir ~/ComfyUI"})
final class ModelsCommand implements Callable<Integer> {
    @Option(names = "--comfy-dir", paramLabel = "DIR", order = 2,
            description = "ComfyUI's folder (default: $COMFYUI_DIR)")
    private Path comfyDir;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (String line : ModelSources.of(System.getenv(), comfyDir, false, Log::info).describe()) {
            out.println(line);
        }
        out.flush();
        return 0;
    }
}
