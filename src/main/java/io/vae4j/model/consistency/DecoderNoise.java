package io.vae4j.model.consistency;

import io.vae4j.VaeException;
import io.vae4j.model.GaussianNoise;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Where the consistency decoder's random draws come from: a seed ({@link GaussianNoise}'s generator, draws in
 * sampling order, each in NCHW order), or tensors recorded elsewhere (the reference's own draws, to compare
 * against it). A decode run inside {@link #where} uses this source; any other decode uses seed 0, so that a given
 * latent always gives the same image. The draws, in order: the initial noise at t=1008, then the noise the
 * t=1008 step adds, each [N, 3, H, W] like the image.
 */
public final class DecoderNoise {
    /** How many tensors one decode draws. */
    public static final int DRAWS = 2;
    public static final long DEFAULT_SEED = 0;
    private static final ScopedValue<DecoderNoise> CURRENT = ScopedValue.newInstance();

    private final long seed;
    private final List<Tensor> recorded;

    private DecoderNoise(long seed, List<Tensor> recorded) {
        this.seed = seed;
        this.recorded = recorded;
    }

    public static DecoderNoise seeded(long seed) {
        return new DecoderNoise(seed, null);
    }

    /** Recorded draws, in sampling order; the caller keeps them open while decodes use them. */
    public static DecoderNoise recorded(List<Tensor> draws) {
        if (draws.size() != DRAWS) {
            throw new VaeException("the consistency decoder draws " + DRAWS + " noise tensors (the initial one at"
                    + " t=1008, then the one its t=1008 step adds); got " + draws.size());
        }
        return new DecoderNoise(0, List.copyOf(draws));
    }

    /** Runs {@code work} with every consistency decode on this thread drawing from this source. */
    public <T> T where(Supplier<T> work) {
        return ScopedValue.where(CURRENT, this).call(work::get);
    }

    static DecoderNoise current() {
        return CURRENT.isBound() ? CURRENT.get() : seeded(DEFAULT_SEED);
    }

    /** The shape every draw of a decode to images [n, 3, height, width] has. */
    public static int[] shape(int n, int height, int width) {
        return new int[]{n, 3, height, width};
    }

    /** One decode's draws, in order; not thread-safe (one per decode). */
    Draws start() {
        return new Draws();
    }

    final class Draws {
        private final SplittableRandom random = recorded == null ? new SplittableRandom(seed) : null;
        private int next;

        /** The next draw, a new tensor owned by the caller. */
        Tensor next(int[] shape) {
            int i = next++;
            if (random != null) {
                return GaussianNoise.draw(random, shape);
            }
            Tensor t = recorded.get(i);
            if (!Arrays.equals(t.shape(), shape)) {
                throw new VaeException("noise draw " + i + " has shape " + Arrays.toString(t.shape())
                        + ", but this decode draws " + Arrays.toString(shape) + " (the image's)");
            }
            return t.copyF32();
        }
    }
}
