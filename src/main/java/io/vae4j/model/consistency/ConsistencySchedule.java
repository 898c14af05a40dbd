package io.vae4j.model.consistency;

/**
 * The consistency decoder's two-step sampling schedule (diffusers ConsistencyDecoderScheduler, the same as OpenAI's
 * ConsistencyDecoder): timesteps 1008 then 512 of a 1024-step cosine schedule, with the consistency-model
 * coefficients of each. The tables are computed as the reference computes them, in float32 where it does (betas,
 * cumulative product, square roots), so the coefficients are the reference's floats.
 */
public final class ConsistencySchedule {
    /** The timesteps the decoder samples at, in order: the only schedule the reference supports. */
    public static final int[] TIMESTEPS = {1008, 512};
    public static final int TRAIN_STEPS = 1024;
    private static final double SIGMA_DATA = 0.5;

    /** One timestep's coefficients. */
    public record Step(int timestep, float cIn, float cOut, float cSkip, float sqrtAlphaBar,
                       float sqrtOneMinusAlphaBar) {
    }

    private final Step[] steps;

    public ConsistencySchedule() {
        float[] alphaBar = alphaBar(TRAIN_STEPS);
        steps = new Step[TIMESTEPS.length];
        for (int i = 0; i < TIMESTEPS.length; i++) {
            steps[i] = step(TIMESTEPS[i], alphaBar[TIMESTEPS[i]]);
        }
    }

    public int size() {
        return steps.length;
    }

    public Step step(int i) {
        return steps[i];
    }

    /** What the initial noise is multiplied by: sqrt(1 - ᾱ) at the first timestep. */
    public float initNoiseSigma() {
        return steps[0].sqrtOneMinusAlphaBar();
    }

    /**
     * ᾱ_t for every training step: betas from the cosine ᾱ(t) = cos²((t + 0.008) / 1.008 · π/2), capped at 0.999,
     * rounded to float32; ᾱ their cumulative product of (1 - β), accumulated in double and rounded per element as
     * torch.cumprod does on the CPU.
     */
    static float[] alphaBar(int n) {
        float[] out = new float[n];
        double product = 1;
        for (int i = 0; i < n; i++) {
            double ratio = cosineAlphaBar((i + 1) / (double) n) / cosineAlphaBar(i / (double) n);
            double beta = Math.min(1 - ratio, 0.999);
            float alpha = 1f - (float) beta;
            product *= alpha;
            out[i] = (float) product;
        }
        return out;
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** The coefficients at timestep t from ᾱ_t, each operation rounded to float32 as the reference's tensors are. */
    private static Step step(int t, float ab) {
        float sd2 = (float) (SIGMA_DATA * SIGMA_DATA);
        float sigma = (float) Math.sqrt(1f / ab - 1f);
        float sqrtRecip = (float) Math.sqrt(1f / ab);
        float denominator = sigma * sigma + sd2;
        float cSkip = sqrtRecip * sd2 / denominator;
        float root = (float) Math.pow(denominator, 0.5);
        float cOut = sigma * (float) SIGMA_DATA / root;
        float cIn = sqrtRecip / root;
        return new Step(t, cIn, cOut, cSkip, (float) Math.sqrt(ab), (float) Math.sqrt(1f - ab));
    }
}
