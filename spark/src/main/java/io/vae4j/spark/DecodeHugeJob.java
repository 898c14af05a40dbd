package io.vae4j.spark;

import io.vae4j.VaeException;
import io.vae4j.format.image.PixelRange;
import io.vae4j.format.latent.LatentFiles;
import io.vae4j.model.Family;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Vae;
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.Progress;
import io.vae4j.tiles.TiledDecoder;
import io.vae4j.tiles.io.ImageStripWriter;
import io.vae4j.tiles.io.StreamingPngWriter;
import io.vae4j.tiles.io.StreamingTiffWriter;
import io.vae4j.tiles.plan.Tile;
import io.vae4j.tiles.plan.TilePlan;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * decode-huge: one huge latent decoded with its tiles as Spark tasks. The driver gathers a few tile rows at a
 * time, in order, and streams them to a PNG or TIFF, so its memory holds those rows, not the image. The tiles
 * are the CLI's tiled decode's, with the same plan and halo: TAESD windows cropped to their cores (the image equals
 * the untiled decode up to float rounding), AutoencoderKL tiles blended over their halos with GroupNorm statistics
 * frozen from one pass over the (area-averaged) latent: the CLI's fast mode. The driver records those statistics
 * once and broadcasts them as plain values; each executor binds them to its own copy of the model's layers.
 */
public final class DecodeHugeJob {

    /** What the job does; shipped to every task. The latent file must be readable by the executors. */
    public record Settings(ModelRef model, String latent, String out, int tile) implements Serializable {
    }

    /** One decoded tile as {@link TiledDecoder#decodeTile} gives it: NCHW float32 [1, 3, height, width]. */
    record TilePixels(int index, int height, int width, float[] pixels) implements Serializable {
    }

    /** A latent, its plan and statistics, prepared once per JVM. */
    private record Prepared(Tensor latent, TiledDecoder decoder, TilePlan plan, TiledDecoder.Stats stats) {
    }

    private static final Map<String, Prepared> PREPARED = new ConcurrentHashMap<>();

    private DecodeHugeJob() {
    }

    /** Runs the job; returns the image's width and height. */
    public static int[] run(SparkSession spark, Settings s) {
        String ext = s.out().toLowerCase().replaceAll(".*\\.", "");
        if (!List.of("png", "tif", "tiff").contains(ext)) {
            throw new VaeException("decode-huge: --out " + s.out() + " must end in .png, .tif or .tiff");
        }
        Prepared p = prepare(s, null);
        TilePlan plan = p.plan();
        PixelRange range = Pipeline.pixelRange(ExecutorModels.get(s.model()).vae());
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<TiledDecoder.ShippedStats> stats = jsc.broadcast(TiledDecoder.ShippedStats.of(p.stats()));
        // Enough tile rows per round to keep every core busy, and no more: the driver holds a round's pixels.
        int perRound = Math.max(1, (2 * jsc.defaultParallelism() + plan.cols() - 1) / plan.cols());
        ImageStripWriter writer = ext.equals("png")
                ? StreamingPngWriter.open(Path.of(s.out()), plan.imageWidth(), plan.imageHeight(), 8)
                : StreamingTiffWriter.open(Path.of(s.out()), plan.imageWidth(), plan.imageHeight(), 8);
        try {
            // The decoder places (TAESD) or blends (AutoencoderKL) the tiles and writes the rows in order, as
            // for the CLI; only where the tiles are decoded differs.
            p.decoder().decode(p.latent(), plan, writer, range, Progress.toStderr("decode-huge",
                    plan.tiles().size(), (long) plan.imageWidth() * plan.imageHeight(), false), p.stats(),
                    executorTiles(jsc, s, stats, plan, perRound));
        } finally {
            stats.destroy();
            // The driver's copy of the latent goes with the job (in local mode the executors' too); a cluster's
            // executors keep theirs until they exit.
            Prepared done = PREPARED.remove(s.toString());
            if (done != null) {
                done.latent().close();
            }
        }
        return new int[]{plan.imageWidth(), plan.imageHeight()};
    }

    /**
     * Tiles decoded by Spark tasks, {@code perRound} tile rows per job: the decoder asks for one row at a time,
     * and the rows after it in the round are kept until it asks for them.
     */
    private static TiledDecoder.TileSource executorTiles(JavaSparkContext jsc, Settings s,
                                                         Broadcast<TiledDecoder.ShippedStats> stats, TilePlan plan,
                                                         int perRound) {
        Map<Integer, TilePixels> ready = new HashMap<>();
        return (row, tiles, done) -> {
            if (!ready.containsKey(tiles.getFirst().index())) {
                ready.clear();
                int last = Math.min(plan.rows(), row + perRound);
                List<Integer> round = plan.tiles().stream().filter(t -> t.row() >= row && t.row() < last)
                        .map(Tile::index).toList();
                for (TilePixels px : jsc.parallelize(round, round.size()).map(i -> decodeTile(s, stats.value(), i))
                        .collect()) {
                    ready.put(px.index(), px);
                }
            }
            for (Tile t : tiles) {
                TilePixels px = ready.remove(t.index());
                try (Tensor out = Tensor.of(px.pixels(), 1, 3, px.height(), px.width())) {
                    done.accept(t, out);
                }
            }
        };
    }

    /** Runs on an executor: one tile of the plan, with the driver's statistics. */
    static TilePixels decodeTile(Settings s, TiledDecoder.ShippedStats stats, int index) {
        Prepared p = prepare(s, stats);
        Tile t = p.plan().tiles().get(index);
        try (Tensor out = p.decoder().decodeTile(p.latent(), t, p.plan(), p.stats())) {
            return new TilePixels(index, out.dim(2), out.dim(3), out.toFloatArray());
        }
    }

    /**
     * The latent read (raw), the plan and the statistics, once per JVM and settings: the driver records the
     * statistics ({@code shipped} null), an executor binds the driver's (in local mode it finds the driver's).
     */
    private static Prepared prepare(Settings s, TiledDecoder.ShippedStats shipped) {
        return PREPARED.computeIfAbsent(s.toString(), k -> {
            ExecutorModels.Loaded m = ExecutorModels.get(s.model());
            Vae vae = m.vae();
            if (!vae.canDecode()) {
                throw new VaeException("model " + s.model().path() + " has no decoder");
            }
            int f = vae.downscale();
            if (s.tile() % f != 0) {
                throw new VaeException("decode-huge: --tile " + s.tile() + " is not a multiple of the model's scale " + f);
            }
            TiledDecoder decoder = new TiledDecoder(vae, new TiledDecoder.Options(s.tile() / f, -1,
                    ExecutorModels.MEMORY));
            Tensor z = rawLatent(s, vae);
            Limits.checkLatent(s.latent(), z, vae, Limits.TILED_MAX_PIXELS);
            // The driver's plan, made again the same way on every executor.
            TilePlan auto = decoder.plan(z.dim(2), z.dim(3));
            TilePlan plan = TilePlan.of(z.dim(2), z.dim(3), auto.tileEdge(), auto.halo(), f);
            return new Prepared(z, decoder, plan, shipped == null ? decoder.stats(z) : bind(decoder, z, shipped, s));
        });
    }

    private static TiledDecoder.Stats bind(TiledDecoder decoder, Tensor z, TiledDecoder.ShippedStats shipped,
                                           Settings s) {
        try {
            return decoder.stats(z, shipped);
        } catch (IllegalArgumentException e) {
            throw new VaeException("model " + s.model().path() + ": the driver's GroupNorm statistics do not fit"
                    + " this executor's copy (" + e.getMessage() + ")");
        }
    }

    /** The latent as the decoder takes it, converted as the CLI's decode converts it. */
    private static Tensor rawLatent(Settings s, Vae vae) {
        try (LatentFiles.Latent latent = LatentFiles.read(Path.of(s.latent()))) {
            Tensor z = latent.tensor();
            if (z.rank() != 4 || z.dim(0) != 1) {
                throw new VaeException("latent " + s.latent() + ": decode-huge takes one latent [1, C, h, w]");
            }
            LatentSpace space = vae.latentSpace();
            if (latent.raw() && space.family() == Family.TAESD) {
                LatentSpace parent = ModelLoader.parentSpace(z.dim(1), s.model().family() == null ? null
                        : Family.parse(s.model().family()));
                return Latents.map(z, parent::toDiffusion);
            }
            return latent.raw() ? z.copyF32() : Latents.map(z, space::toRaw);
        }
    }
}
