package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.format.image.AnimatedGif;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.Vae;
import io.vae4j.model.svd.TemporalAutoencoder;
import io.vae4j.model.svd.VideoFrames;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.pipeline.TilingMode;
import io.vae4j.tensor.Tensor;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * decode's --frames, for the Stable Video Diffusion temporal decoder, which decodes the frames of a video together:
 * frames per video (frame t of video b at batch index b·T + t). That decoder has no tiled run (its temporal GroupNorm
 * spans every frame of a video, so no tile sees its own statistics), so a video over the memory budget is refused.
 */
final class FramesOption {
    @Option(names = "--frames", paramLabel = "T", order = 11,
            description = "SVD temporal decoder: frames per video (default: the whole batch is one video)")
    Integer frames;

    /**
     * Checks --frames and the budget for this model and raw latent; returns the frames per video of a temporal
     * decoder, or 0 for any other model (which then decodes as usual). Animated .gif outputs are for videos.
     */
    int check(Vae vae, Tensor z, Pipeline.Options options, Path out) {
        if (!(vae instanceof TemporalAutoencoder)) {
            if (Outputs.extension(out).equals("gif")) {
                throw new VaeException("output " + out + ": unsupported extension '.gif' for "
                        + vae.info().architecture().split(" ")[0] + " (expected one of: .npy, .png, .tif, .tiff;"
                        + " animated .gif is for the videos of the SVD temporal decoder)");
            }
            if (frames != null) {
                throw new VaeException("--frames applies to the SVD temporal decoder; "
                        + vae.info().source() + " is " + vae.info().architecture().split(" ")[0]);
            }
            return 0;
        }
        if (z.rank() != 4) {
            throw new VaeException("latent has shape " + Arrays.toString(z.shape()) + ", but the SVD temporal decoder"
                    + " expects [B*T, " + vae.latentChannels() + ", h, w] (T frames of each of B videos)");
        }
        int n = z.dim(0);
        int t = frames == null ? n : frames;
        if (t < 1) {
            throw new UsageException("--frames must be at least 1, got " + t);
        }
        if (n % t != 0) {
            throw new VaeException("the latent " + Arrays.toString(z.shape()) + " holds " + n + " frames, which is"
                    + " not a multiple of --frames " + t);
        }
        if (options.mode() == TilingMode.FAST || options.mode() == TilingMode.EXACT || options.tile() > 0) {
            throw new VaeException("the SVD temporal decoder has no tiled decode (its temporal GroupNorm spans"
                    + " every frame of a video); leave out --tile and --tiling fast|exact");
        }
        int f = vae.downscale();
        long need = t * vae.decodeActivationBytes(z.dim(2) * f, z.dim(3) * f);
        if (options.mode() == TilingMode.AUTO && need > options.memory()) {
            throw new VaeException(String.format("a video of %d frames of %dx%d needs about %.1f GiB to decode,"
                            + " over the --memory budget of %.1f GiB, and the SVD temporal decoder has no tiled decode;"
                            + " raise --memory or decode fewer or smaller frames", t, z.dim(3) * f, z.dim(2) * f,
                    need / (double) (1L << 30), options.memory() / (double) (1L << 30)));
        }
        return t;
    }

    /** The decoded videos as looping animated GIFs, one per video, at SVD's usual 7 frames a second. */
    static List<Path> writeGif(Path out, Tensor image, int framesPerVideo, PixelRange range) {
        return AnimatedGif.write(out, image, framesPerVideo, range, 14);
    }

    /** Runs a decode with videos of {@code t} frames each (0: not a temporal decoder). */
    static <T> T run(int t, Supplier<T> decode) {
        return t == 0 ? decode.get() : VideoFrames.where(t, decode);
    }
}
