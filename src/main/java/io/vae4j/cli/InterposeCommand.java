package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.format.latent.LatentFiles;
import io.vae4j.model.Family;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.interposer.Interposer;
import io.vae4j.tensor.Tensor;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/** ./vae4j interpose: a latent of one family in, the same picture as another family's latent out. */
@Command(name = "interpose",
        description = {"Convert a raw latent between families (SD1.x, SDXL, SD3, FLUX.1) with an SD-Latent-Interposer"
                + " model, without a VAE decode and encode.",
                "The direction comes from the model's tensors (latent channels in and out) and its file name."},
        customSynopsis = {
                "./vae4j interpose --model M [--comfy-dir DIR] [--download] --latent IN --out OUT [--threads N]",
                "         [--backend B] [--precision fp32|bf16] [--no-cache] [--quiet]"},
        footer = {
                "  ./vae4j interpose --model xl-to-v1_interposer-v4.0.safetensors --latent sdxl.latent --out sd1.latent",
                "  ./vae4j interpose --model fx-to-xl_interposer-v4.0.safetensors --latent flux.npy --out sdxl.npy"})
final class InterposeCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "M", order = 1,
            description = "the interposer: file, ORG/NAME[@REV][:PATH] or ComfyUI name (required)")
    private String model;

    @Mixin
    private SourceOptions sources;

    @Option(names = "--latent", paramLabel = "IN", order = 4,
            description = "the raw latent: .npy, ComfyUI .latent or .safetensors (required)")
    private Path latentPath;

    @Option(names = "--out", paramLabel = "OUT", order = 5,
            description = "the converted raw latent: .npy, .latent or .safetensors (required)")
    private Path out;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--quiet", order = 90, description = "no progress or notes on stderr, errors only")
    private boolean quiet;

    @Override
    public Integer call() {
        Log.quiet |= quiet;
        if (model == null) {
            throw new UsageException("missing --model (an SD-Latent-Interposer file)");
        }
        if (latentPath == null) {
            throw new UsageException("missing --latent");
        }
        if (out == null) {
            throw new UsageException("missing --out");
        }
        ModelOptions.requireFile(latentPath, "latent");
        Outputs.requireWritable(out, Set.of("npy", "latent", "safetensors"));
        Path modelPath = sources.resolve(model);
        Backend backend = backendOptions.create();
        try (Interposer interposer = load(modelPath, backend);
             LatentFiles.Latent latent = LatentFiles.read(latentPath)) {
            Tensor z = latent.tensor();
            interposer.requireInput(latentPath.toString(), z.shape());
            long start = System.nanoTime();
            try (Tensor converted = interposer.convert(z)) {
                double seconds = (System.nanoTime() - start) / 1e9;
                Family target = interposer.config().targetFamily();
                LatentFiles.write(out, converted, target == null ? Map.of()
                        : Map.of(LatentFiles.FAMILY_KEY, target.id));
                Log.info(String.format("interposed %s -> %s (%s) in %.3f s; wrote %s", Arrays.toString(z.shape()),
                        Arrays.toString(converted.shape()), interposer.config().variant(), seconds, out));
            }
        }
        return 0;
    }

    static Interposer load(Path modelPath, Backend backend) {
        return ModelLoader.interposer(modelPath, backend).orElseThrow(() -> new VaeException(modelPath
                + ": not a latent interposer (expected head.*, core.*, tail.* tensors; VAEs run with decode and"
                + " encode)"));
    }

    /** ./vae4j info on an interposer. */
    static void print(Interposer i, PrintWriter out) {
        var c = i.config();
        out.println("file:          " + i.source());
        out.println("layout:        SD-Latent-Interposer (interposer.py InterposerModel state dict)");
        out.println("architecture:  " + c.describe());
        out.println("direction:     " + c.variant() + ": raw " + c.channelsIn() + "-channel latents in, raw "
                + c.channelsOut() + "-channel latents out" + (c.scale() == 1 ? ", same size"
                : ", " + c.scale() + "x the size"));
        StringBuilder p = new StringBuilder();
        i.parameters().forEach((part, n) -> p.append(part).append(' ').append(String.format("%,d", n)).append("; "));
        out.println("parameters:    " + p + "total " + String.format("%,d", i.totalParameters()));
        out.println("dtype:         " + i.dtypes());
        out.printf("memory:        weights %s (memory-mapped), up to %s more to widen 16-bit weights on use%n",
                InfoCommand.mb(i.weightBytes()), InfoCommand.mb(i.convertedBytes()));
    }
}
