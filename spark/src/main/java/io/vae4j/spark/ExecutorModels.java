package io.vae4j.spark;

import io.vae4j.VaeException;
import io.vae4j.VaeModel;
import io.vae4j.model.Vae;
import io.vae4j.pipeline.Pipeline;
import org.apache.spark.SparkFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The models loaded in this JVM (an executor, or the driver in local mode), one per file content and run
 * settings: every task of every job in the JVM shares it. Loaded models live as long as the JVM, as Spark's
 * executors do; weights are memory-mapped, so an idle one costs page cache, not heap.
 */
public final class ExecutorModels {

    /** A loaded model and the pipeline (memory budget → untiled, exact or fast) its tasks run it through. */
    public record Loaded(VaeModel model, Pipeline pipeline) {
        public Vae vae() {
            return model.model().vae();
        }
    }

    /** What one call may hold in activations before the pipeline tiles, as VaeModel's default. */
    static final long MEMORY = 2L << 30;

    private static final Map<String, Loaded> LOADED = new ConcurrentHashMap<>();

    private ExecutorModels() {
    }

    /**
     * The model {@code ref} names, loaded on first use in this JVM.
     *
     * @throws VaeException when the file cannot be found here, differs from the driver's, or is not a VAE
     */
    public static Loaded get(ModelRef ref) {
        String key = ref.sha256() + " " + ref.family() + " " + ref.threads();
        return LOADED.computeIfAbsent(key, k -> load(ref));
    }

    private static Loaded load(ModelRef ref) {
        Path path = locate(ref);
        String sha = ModelRef.sha256(path);
        if (!sha.equals(ref.sha256())) {
            throw new VaeException("model " + path + " on this executor has sha256 " + sha + ", the driver's has "
                    + ref.sha256() + " (ship it with --files or put the same file on a shared path)");
        }
        VaeModel model = VaeModel.load(path, VaeModel.Options.defaults().withThreads(ref.threads())
                .withFamily(ref.family()).withMemory(MEMORY));
        return new Loaded(model, new Pipeline(Pipeline.Options.auto(MEMORY, line -> { })));
    }

    /** The driver's path when this machine sees it (local mode, a shared file system), else a --files copy. */
    private static Path locate(ModelRef ref) {
        Path path = Path.of(ref.path());
        if (Files.exists(path)) {
            return path;
        }
        String name = path.getFileName().toString();
        try {
            Path shipped = Path.of(SparkFiles.get(name));
            if (Files.exists(shipped)) {
                return shipped;
            }
        } catch (RuntimeException e) {
            // No SparkContext files here: say what was looked for below.
        }
        throw new VaeException("model " + path + ": not on this executor (put it on a shared path or ship it with"
                + " --files " + path + ")");
    }
}
