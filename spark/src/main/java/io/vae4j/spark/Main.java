package io.vae4j.spark;

import io.vae4j.VaeException;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * vae4j-spark: the dataset jobs. Run through spark/vae4j-spark (local mode) or spark-submit (a cluster); errors
 * are one line on stderr and exit status 1.
 */
public final class Main {
    static final String USAGE = """
            Usage: vae4j-spark [--master M] COMMAND [OPTIONS]
              encode --model M --input DIR|GLOB --output OUT.parquet [--family F] [--raw] [--sample --seed S]
                     [--partitions N]
              decode --model M --input IN.parquet --output DIR [--family F] [--format png|npy] [--partitions N]
              export --input IN.parquet --output DIR
              decode-huge --model M --latent BIG.npy --out BIG.png|.tif [--family F] [--tile N]
            --master defaults to spark-submit's, else local[*]. Threads per task: spark.task.cpus.
            """;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        List<String> args = Arrays.asList(argv);
        String master = null;
        if (args.size() >= 2 && args.getFirst().equals("--master")) {
            master = args.get(1);
            args = args.subList(2, args.size());
        }
        if (args.isEmpty() || Set.of("--help", "-h", "help").contains(args.getFirst())) {
            out.print(USAGE);
            return args.isEmpty() ? 1 : 0;
        }
        String command = args.getFirst();
        List<String> rest = args.subList(1, args.size());
        try {
            Job job = switch (command) {
                case "encode" -> encode(JobArgs.parse(command, rest,
                        Set.of("--model", "--input", "--output", "--family", "--seed", "--partitions"),
                        Set.of("--raw", "--sample")));
                case "decode" -> decode(JobArgs.parse(command, rest,
                        Set.of("--model", "--input", "--output", "--family", "--format", "--partitions"), Set.of()));
                case "export" -> export(JobArgs.parse(command, rest, Set.of("--input", "--output"), Set.of()));
                case "decode-huge" -> decodeHuge(JobArgs.parse(command, rest,
                        Set.of("--model", "--latent", "--out", "--family", "--tile"), Set.of()));
                default -> throw new VaeException("unknown command '" + command + "' (expected encode, decode,"
                        + " export or decode-huge)");
            };
            // A session this JVM already runs (a notebook's, a test's) is used and left running.
            boolean owned = SparkSession.getDefaultSession().isEmpty();
            SparkSession spark = session(master, command);
            try {
                return job.run(spark, Integer.parseInt(spark.conf().get("spark.task.cpus", "1")), out, err);
            } finally {
                if (owned) {
                    spark.stop();
                }
            }
        } catch (RuntimeException e) {
            VaeException cause = vaeCause(e);
            if (cause == null) {
                throw e;
            }
            err.println("vae4j-spark: " + cause.getMessage());
            return 1;
        }
    }

    /** A command with its options checked, to run once Spark is up. */
    interface Job {
        int run(SparkSession spark, int taskCpus, PrintStream out, PrintStream err);
    }

    private static Job encode(JobArgs a) {
        ModelRef model = ModelRef.of(Path.of(a.required("--model")), a.get("--family", null));
        String input = a.required("--input"), output = a.required("--output");
        boolean raw = a.flag("--raw"), sample = a.flag("--sample");
        if (a.has("--seed") && !sample) {
            throw new VaeException("encode: --seed only applies with --sample");
        }
        long seed = a.number("--seed", 0, Long.MIN_VALUE);
        int partitions = (int) a.number("--partitions", 0, 1);
        return (spark, cpus, out, err) -> {
            var s = new EncodeJob.Settings(model.withThreads(cpus), input, output, raw, sample, seed, partitions);
            long failed = EncodeJob.run(spark, s);
            out.println("wrote " + output + (failed > 0 ? "; " + failed + " images failed (their rows hold the"
                    + " error)" : ""));
            return 0;
        };
    }

    private static Job decode(JobArgs a) {
        ModelRef model = ModelRef.of(Path.of(a.required("--model")), a.get("--family", null));
        String input = a.required("--input"), output = a.required("--output");
        String format = a.get("--format", "png");
        int partitions = (int) a.number("--partitions", 0, 1);
        return (spark, cpus, out, err) -> report(DecodeJob.run(spark,
                new DecodeJob.Settings(model.withThreads(cpus), input, output, format, partitions)),
                output, out, err);
    }

    private static Job export(JobArgs a) {
        String input = a.required("--input"), output = a.required("--output");
        return (spark, cpus, out, err) -> report(ExportJob.run(spark, input, output), output, out, err);
    }

    private static Job decodeHuge(JobArgs a) {
        ModelRef model = ModelRef.of(Path.of(a.required("--model")), a.get("--family", null));
        String latent = a.required("--latent"), output = a.required("--out");
        int tile = (int) a.number("--tile", 0, 8);
        return (spark, cpus, out, err) -> {
            int[] size = DecodeHugeJob.run(spark, new DecodeHugeJob.Settings(model.withThreads(cpus), latent, output,
                    tile));
            out.println("wrote " + output + " " + size[0] + "x" + size[1]);
            return 0;
        };
    }

    private static int report(WrittenFiles.Outcome o, String output, PrintStream out, PrintStream err) {
        o.errors().forEach(e -> err.println("vae4j-spark: " + e));
        out.println("wrote " + o.written() + " files to " + output
                + (o.skipped() > 0 ? "; skipped " + o.skipped() + " rows whose encode failed" : ""));
        return o.errors().isEmpty() ? 0 : 1;
    }

    /** spark-submit's master when it set one, else --master, else every core of this machine. */
    static SparkSession session(String master, String command) {
        SparkSession.Builder b = SparkSession.builder().appName("vae4j-spark " + command);
        String m = master != null ? master : System.getProperty("spark.master", "local[*]");
        b.master(m);
        if (m.startsWith("local")) {
            b.config("spark.ui.enabled", "false");
        }
        return b.getOrCreate();
    }

    private static VaeException vaeCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof VaeException v) {
                return v;
            }
        }
        return null;
    }
}
