package io.vae4j.bench;

import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.Family;
import io.vae4j.model.preview.LatentPreview;
import io.vae4j.model.preview.PreviewFactors;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.StreamingPngWriter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * ./vae4j preview's work on a 128x128 latent (a 1024x1024 image), warm: the linear projection alone, then with the
 * 8-bit image a UI shows, then with that image PNG-encoded in memory as ./vae4j preview writes it (and by ImageIO, for comparison). Target: a preview in under 5 ms.
 * {@code ./bench/run-jmh LatentPreviewBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class LatentPreviewBench {
    @Param({"sdxl", "flux1"})
    public String family;

    @Param({"128"})
    public int size;

    private PreviewFactors factors;
    private Tensor latent;

    @Setup(Level.Trial)
    public void setup() {
        factors = PreviewFactors.of(Family.parse(family));
        latent = KernelBench.random(1f, 1, factors.channels(), size, size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        latent.close();
    }

    @Benchmark
    public float project() {
        try (Tensor rgb = LatentPreview.project(latent, factors, 1)) {
            return rgb.get(0);
        }
    }

    @Benchmark
    public BufferedImage projectTo8Bit() {
        try (Tensor rgb = LatentPreview.project(latent, factors, 1)) {
            return Images.toBufferedImage(rgb, PixelRange.MINUS_ONE_ONE, 0);
        }
    }

    @Benchmark
    public int projectToPng() {
        ByteArrayOutputStream png = new ByteArrayOutputStream(1 << 16);
        try (Tensor rgb = LatentPreview.project(latent, factors, 1);
             StreamingPngWriter writer = StreamingPngWriter.open(png, "preview", rgb.dim(3), rgb.dim(2), 8, 1,
                     StreamingPngWriter.Filter.UP)) {
            writer.writeRows(rgb, PixelRange.MINUS_ONE_ONE);
        }
        return png.size();
    }

    /** The same image through ImageIO's PNG encoder at its defaults, for comparison. */
    @Benchmark
    public int projectToPngImageIo() throws IOException {
        ByteArrayOutputStream png = new ByteArrayOutputStream(1 << 16);
        try (Tensor rgb = LatentPreview.project(latent, factors, 1)) {
            ImageIO.write(Images.toBufferedImage(rgb, PixelRange.MINUS_ONE_ONE, 0), "png", png);
        }
        return png.size();
    }
}
