package io.vae4j.cli;

import io.vae4j.format.WeightFile;
import io.vae4j.format.WeightFiles;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * ./vae4j convert IN OUT.safetensors: the tensors of any weight file the runtime reads (a PyTorch pickle, a
 * safetensors file, a diffusers or pipeline folder's weights), written as safetensors with their names, shapes and
 * dtypes unchanged. Whole checkpoints are kept whole (every float tensor, not only the VAE); entries the runtime
 * cannot hold (integer tensors, non-tensor values) are listed as skipped. String metadata is carried over.
 */
@Command(name = "convert",
        description = "Rewrite a weight file's float tensors as .safetensors: names, shapes and dtypes unchanged.",
        customSynopsis = "./vae4j convert IN OUT.safetensors [--quiet]",
        footer = {
                "  ./vae4j convert taesd_decoder.pth taesd_decoder.safetensors",
                "  ./vae4j convert sd-v1-5.ckpt sd-v1-5.safetensors      # whole checkpoints stay whole"})
final class ConvertCommand implements Callable<Integer> {
    /** Skipped entries listed one per line; the rest are counted. */
    private static final int LISTED = 20;

    @Parameters(index = "0", arity = "0..1", paramLabel = "IN",
            description = "a .pth/.pt/.ckpt/.bin, .safetensors, or diffusers or pipeline folder")
    private Path in;

    @Parameters(index = "1", arity = "0..1", paramLabel = "OUT.safetensors", description = "the file to write")
    private Path target;

    @Parameters(index = "2..*", hidden = true)
    private List<String> extra = List.of();

    @Option(names = "--quiet", order = 90, description = "no notes on stderr, errors only")
    private boolean quiet;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        Log.quiet |= quiet;
        if (in == null || target == null || !extra.isEmpty()) {
            throw new UsageException("convert takes an input and an output path");
        }
        PrintWriter out = spec.commandLine().getOut();
        Outputs.requireWritable(target, Set.of("safetensors"));
        try (WeightFile file = WeightFiles.open(ModelLoader.weightsFile(in))) {
            long start = System.nanoTime();
            SafetensorsFile.write(target, file.tensors(), file.metadata());
            Map<String, Long> byDtype = new TreeMap<>();
            long bytes = 0;
            for (Tensor t : file.tensors().values()) {
                byDtype.merge(t.dtype().name(), 1L, Long::sum);
                bytes += t.data().byteSize();
            }
            out.printf("wrote %s: %d tensors (%s), %s of tensor data, in %.2f s%n", target, file.tensors().size(),
                    String.join(", ", byDtype.entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
                            .toList()), InfoCommand.mb(bytes), (System.nanoTime() - start) / 1e9);
            Map<String, String> skipped = file.skipped();
            if (!skipped.isEmpty()) {
                out.printf("skipped %d entr%s of %s:%n", skipped.size(), skipped.size() == 1 ? "y" : "ies",
                        file.path());
                skipped.entrySet().stream().limit(LISTED)
                        .forEach(e -> out.printf("  %s (%s)%n", e.getKey(), e.getValue()));
                if (skipped.size() > LISTED) {
                    out.printf("  ... and %d more%n", skipped.size() - LISTED);
                }
            }
        }
        return 0;
    }
}
