package io.vae4j.cli;

import io.vae4j.format.WeightFile;
import io.vae4j.format.WeightFiles;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * ./vae4j convert IN OUT.safetensors: the tensors of any weight file the runtime reads (a PyTorch pickle, a
 * safetensors file, a diffusers or pipeline folder's weights), written as safetensors with their names, shapes and
 * dtypes unchanged. Whole checkpoints are kept whole (every float tensor, not only the VAE); entries the runtime
 * cannot hold (integer tensors, non-tensor values) are listed as skipped. String metadata is carried over.
 */
final class ConvertCommand {
    static final String USAGE = "convert IN OUT.safetensors [--quiet]";
    /** Skipped entries listed one per line; the rest are counted. */
    private static final int LISTED = 20;

    private ConvertCommand() {
    }

    static void run(String[] argv, PrintStream out) {
        Args args = new Args(argv, 1, Set.of(), Set.of("quiet"));
        Log.quiet |= args.flag("quiet");
        if (args.positional().size() != 2) {
            throw new Args.UsageException("convert takes an input and an output path");
        }
        Path in = Path.of(args.positional().get(0));
        Path target = Path.of(args.positional().get(1));
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
    }
}
