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
 * frames per video (frame t of video b at batch index b·T + t). A video over the memory budget (or --tiling fast)
 * is decoded in tiles that hold all its frames, with frozen GroupNorm statistics: fast tiling only, as the
 * temporal GroupNorm spans every frame of a video.
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
        return t;
    }

    /**
     * Whether the videos of a temporal decoder are decoded in tiles (fast: {@link Pipeline#decodeVideoTiled}):
     * asked for with --tiling fast or --tile, or needed because a whole video is over the --memory budget.
     */
    static boolean tiled(Vae vae, Tensor z, int frames, Pipeline.Options options, String ext) {
        if (options.mode() == TilingMode.EXACT) {
            throw new VaeException("the SVD temporal decoder has no exact tiling (its temporal GroupNorm spans every"
                    + " frame of a video, so every tile would need whole frames); use --tiling fast");
        }
        int f = vae.downscale();
        long need = frames * vae.decodeActivationBytes(z.dim(2) * f, z.dim(3) * f);
        boolean over = options.mode() == TilingMode.AUTO && options.tile() == 0 && need > options.memory();
        boolean asked = options.mode() == TilingMode.FAST || options.tile() > 0;
        if (!over && !asked) {
            return false;
        }
        if (ext.equals("npy") || ext.equals("gif")) {
            throw new VaeException((over ? String.format("a video of %d frames of %dx%d needs about %.1f GiB to"
                            + " decode whole, over the --memory budget of %.1f GiB; ", frames, z.dim(3) * f,
                    z.dim(2) * f, need / (double) (1L << 30), options.memory() / (double) (1L << 30)) : "")
                    + "a tiled video decode writes its frames as .png or .tif files, not ." + ext
                    + (over ? " (or raise --memory)" : ""));
        }
        return true;
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
