package io.vae4j.cli;

import io.vae4j.backend.Backend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.model.AttentionMode;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.RandomWeights;
import io.vae4j.model.Vae;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.model.taesd.TaesdLayout;
import io.vae4j.model.taesd.TaesdShapes;
import io.vae4j.model.taesd.TaesdVariant;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import io.vae4j.pipeline.WorkProgress;
import io.vae4j.util.ResidentMemory;
import io.vae4j.util.Work;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SequencedMap;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * ./vae4j bench: whole-model timings without JMH, on the real SD-size architecture (or, with --arch taesd, the real
 * TAESD one) with random weights (speed does not depend on the values) or on a given model. Prints the median of
 * the repeats and the peak RSS of each row: the process's high-water mark is reset before each (op, size), so a row's
 * figure is the peak while that row ran (the loaded model included), not the largest of the rows before it.
 */
@Command(name = "bench",
        description = "Time decodes and encodes of an SD-size random-weight model, or of --model M.",
        customSynopsis = {
                "./vae4j bench [--op decode|encode|all] [--size 512[,1024...]] [--repeat 3] [--warmup 1]",
                "         [--threads N] [--backend B] [--precision fp32|bf16] [--no-cache] [--arch kl|taesd]",
                "         [--latent-channels 4|16|32] [--model M] [--family F] [--scratch DIR]",
                "         [--attention global|tiled|off] [--write-model FILE.safetensors] [--quiet]"},
        footer = {
                "  ./vae4j bench --op decode --size 512,1024 --threads 8",
                "  ./vae4j bench --arch taesd --latent-channels 32 --precision bf16",
                "  ./vae4j bench --model vae.safetensors --size 2048 --scratch /tmp     # exact mode",
                "  ./vae4j bench --write-model random-sd.safetensors                    # for server benchmarks"})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--op", paramLabel = "decode|encode|all", order = 1, defaultValue = "all",
            description = "what to time (default: ${DEFAULT-VALUE})")
    private String op;

    @Option(names = "--size", paramLabel = "512[,1024...]", order = 2, defaultValue = "512",
            description = "image sides, multiples of 8, comma-separated (default: ${DEFAULT-VALUE})")
    private String size;

    @Option(names = "--repeat", paramLabel = "N", order = 3, defaultValue = "3",
            description = "timed runs per size; the median is reported (default: ${DEFAULT-VALUE})")
    private int repeat;

    @Option(names = "--warmup", paramLabel = "N", order = 4, defaultValue = "1",
            description = "untimed runs first (default: ${DEFAULT-VALUE})")
    private int warmup;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--arch", paramLabel = "kl|taesd", order = 40, defaultValue = "kl",
            description = "the random model: SD's AutoencoderKL or a TAESD (default: ${DEFAULT-VALUE})")
    private String arch;

    @Option(names = "--latent-channels", paramLabel = "4|16|32", order = 41, defaultValue = "4",
            description = "the random model's latent channels (default: ${DEFAULT-VALUE})")
    private int latentChannels;

    @Option(names = "--model", paramLabel = "M", order = 42,
            description = "time this model instead (default: the random-weight one)")
    private Path model;

    @Option(names = "--family", paramLabel = "F", order = 43, completionCandidates = Choices.FamilyIds.class,
            description = "--model's latent scaling: ${COMPLETION-CANDIDATES} (default: assumed)")
    private String family;

    @Option(names = "--scratch", paramLabel = "DIR", order = 44,
            description = "run in exact mode, with scratch files here (default: untiled)")
    private Path scratchDir;

    @Option(names = "--attention", paramLabel = "global|tiled|off", order = 45, defaultValue = "global",
            completionCandidates = Choices.ExplicitAttentionModes.class,
            description = "the mid-block attention: whole image, windows or skipped (default: ${DEFAULT-VALUE})")
    private String attention;

    @Option(names = "--write-model", paramLabel = "FILE.safetensors", order = 46,
            description = "write the random-weight model to this file instead (default: time it)")
    private Path writeModel;

    @Option(names = "--quiet", order = 90, description = "no progress or notes on stderr, results only")
    private boolean quiet;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Log.quiet |= quiet;
        if (!Set.of("decode", "encode", "all").contains(op)) {
            throw new UsageException("--op must be decode, encode or all");
        }
        int[] sizes = sizes(size);
        int repeat = Math.max(1, this.repeat);
        int warmup = Math.max(0, this.warmup);
        int z = latentChannels;
        if (!Set.of("kl", "taesd").contains(arch)) {
            throw new UsageException("--arch must be kl or taesd");
        }
        if (writeModel != null) {
            writeRandom(writeModel, arch, z);
            return 0;
        }
        AttentionMode attention = ExactOptions.attentionMode(this.attention);
        ScratchSpace scratch = scratchDir == null ? null
                : new ScratchSpace(scratchDir, ScratchSpace.DEFAULT_THRESHOLD, ExactOptions.residentSlack());
        Backend backend = backendOptions.create();
        try (scratch; Model loaded = model != null ? ModelOptions.load(model, ModelOptions.family(family), backend)
                : arch.equals("taesd") ? randomTaesd(backend, z) : randomSd(backend, z, op)) {
            Vae vae = loaded.vae();
            out.printf("model: %s%n", loaded.info().architecture());
            out.printf("%-7s %6s %7s %9s %9s %9s %9s %9s%n", "op", "size", "threads", "precision", "median_s",
                    "min_s", "rss_mb", "alloc_mb");
            for (int size : sizes) {
                if (!op.equals("encode")) {
                    int f = vae.downscale();
                    try (Tensor latent = Tensor.allocate(1, vae.latentChannels(), size / f, size / f)) {
                        fill(latent);
                        Tensor.releaseIdle();
                        ResidentMemory.resetPeak();
                        long macs = attention.where(() -> vae.decodeMacs(latent.shape()));
                        report(out, "decode", size, backend, time("decode " + size, macs, () -> run(scratch,
                                attention, () -> vae.decode(latent)), warmup, repeat));
                    }
                }
                if (!op.equals("decode") && vae.canEncode()) {
                    try (Tensor image = Tensor.allocate(1, 3, size, size)) {
                        fill(image);
                        Tensor.releaseIdle();
                        ResidentMemory.resetPeak();
                        long macs = attention.where(() -> vae.encodeMacs(image.shape()));
                        report(out, "encode", size, backend, time("encode " + size, macs, () -> run(scratch,
                                attention, () -> vae.encode(image)), warmup, repeat));
                    }
                }
            }
            if (scratch != null) {
                out.printf("scratch: peak %.1f MiB in %d files, %d releases from the resident set%n",
                        scratch.peakBytes() / 1048576.0, scratch.files(), scratch.releases());
            }
        }
        return 0;
    }

    private static int[] sizes(String list) {
        String[] parts = list.split(",");
        int[] sizes = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                sizes[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                sizes[i] = -1;
            }
            if (sizes[i] < 8 || sizes[i] % 8 != 0) {
                throw new UsageException("--size must be positive multiples of 8, comma-separated (got '"
                        + list + "')");
            }
        }
        return sizes;
    }

    /** The whole-image run of --tiling exact when a scratch directory is given, else the plain one. */
    private static <T> T run(ScratchSpace scratch, AttentionMode attention, Supplier<T> work) {
        return attention.where(() -> scratch == null ? work.get() : scratch.run(work));
    }

    /** Decode-only runs get a decoder-only model: a real one's unused encoder weights would not be resident. */
    private static Model randomSd(Backend backend, int latentChannels, String op) {
        KlConfig sd = KlShapes.sdConfig(latentChannels, latentChannels == 4);
        KlConfig config = !op.equals("decode") ? sd : new KlConfig(sd.levelChannels(), sd.numResBlocks(),
                sd.latentChannels(), sd.imageChannels(), false, true, false, sd.postQuantConv(), false,
                sd.decoderMidAttention());
        Log.info("building a random-weight SD-size model (z=" + latentChannels + ")");
        return ModelLoader.load(RandomWeights.of("random-sd-vae", KlShapes.of(config), 42), null, backend,
                null);
    }

    /**
     * The random model as a safetensors file, for whole-CLI and server measurements: the SD-size KL autoencoder
     * (ldm names) or, with --arch taesd, a TAESD-family model with both halves.
     */
    private static void writeRandom(Path file, String arch, int latentChannels) {
        SequencedMap<String, int[]> shapes = arch.equals("taesd") ? taesdShapes(taesdVariant(latentChannels))
                : KlShapes.of(KlShapes.sdConfig(latentChannels, latentChannels == 4));
        try (MemoryWeights w = RandomWeights.of("random-" + arch, shapes, 42)) {
            SafetensorsFile.write(file, w.tensors(), null);
        }
        Log.info("wrote " + file);
    }

    /** The released TAESD of that latent width (4: taesd, 16: taesd3/taef1, 32: taef2), random weights. */
    private static Model randomTaesd(Backend backend, int latentChannels) {
        TaesdVariant variant = taesdVariant(latentChannels);
        Log.info("building a random-weight " + variant.id + " model (z=" + latentChannels + ")");
        return ModelLoader.load(RandomWeights.of("random-" + variant.id.replace('/', '-'), taesdShapes(variant), 42),
                null, backend, null);
    }

    private static TaesdVariant taesdVariant(int latentChannels) {
        return switch (latentChannels) {
            case 4 -> TaesdVariant.TAESD;
            case 16 -> TaesdVariant.TAESD3;
            case 32 -> TaesdVariant.TAEF2;
            default -> throw new UsageException("--arch taesd needs --latent-channels 4, 16 or 32");
        };
    }

    /** Both halves of a TAESD-family model, under encoder. and decoder. */
    private static SequencedMap<String, int[]> taesdShapes(TaesdVariant variant) {
        return TaesdShapes.of(TaesdShapes.config(variant), new TaesdLayout("random", "encoder.", "decoder.", 0));
    }

    private static void fill(Tensor t) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (long i = 0; i < t.numel(); i++) {
            t.set(i, (float) r.nextDouble(-1, 1));
        }
    }

    /** The timed runs' wall times and Java heap allocation (bytes, all threads; -1 where the JVM cannot tell). */
    private record Timing(double[] seconds, long[] allocated) {
    }

    /**
     * Runs warm-ups then timed runs, each with progress on stderr (unless quiet) when the model gives a total. A warm
     * run should allocate next to nothing on the Java heap (activations are off-heap): gigabytes mean a kernel whose
     * vectors C2 left boxed, running the Vector API's Java fallback.
     */
    private static Timing time(String label, long macs, java.util.function.Supplier<AutoCloseable> run, int warmup,
                               int repeat) {
        double[] seconds = new double[repeat];
        long[] allocated = new long[repeat];
        for (int i = 0; i < warmup + repeat; i++) {
            WorkProgress progress = WorkProgress.toStderr(label + (i < warmup ? " warm-up " + (i + 1)
                    : " run " + (i - warmup + 1) + "/" + repeat), Log.quiet || macs <= 0);
            long heap = allocatedBytes();
            long start = System.nanoTime();
            try (AutoCloseable result = new Work(macs, progress).run(run)) {
                double s = (System.nanoTime() - start) / 1e9;
                long after = allocatedBytes();
                if (i >= warmup) {
                    seconds[i - warmup] = s;
                    allocated[i - warmup] = heap < 0 || after < 0 ? -1 : after - heap;
                }
                progress.finish();
                Log.info(String.format("%s run %d: %.3f s", i < warmup ? "warm-up" : "timed", i + 1, s));
            } catch (Exception e) {
                progress.finish();
                throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
        }
        return new Timing(seconds, allocated);
    }

    /** Heap bytes allocated by all threads since the JVM started, or -1 where it does not count them. */
    private static long allocatedBytes() {
        try {
            if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads
                    && threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled()) {
                return threads.getTotalThreadAllocatedBytes();
            }
        } catch (LinkageError e) {
            // A runtime image without jdk.management.
        }
        return -1;
    }

    private static void report(PrintWriter out, String op, int size, Backend backend, Timing timing) {
        double[] sorted = timing.seconds().clone();
        Arrays.sort(sorted);
        double[] heap = Arrays.stream(timing.allocated()).asDoubleStream().sorted().toArray();
        out.printf("%-7s %6d %7d %9s %9.3f %9.3f %9.0f %9s%n", op, size, backend.threads(), backend.precision().id(),
                median(sorted), sorted[0], Math.max(0, ResidentMemory.peak()) / 1e6,
                heap[0] < 0 ? "-" : String.format("%.0f", median(heap) / 1e6));
    }

    private static double median(double[] sorted) {
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }
}
