package io.vae4j.model.vq;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Random4;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.format.WeightFile;
import io.vae4j.format.WeightFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The VQ model below the CLI: the pre-quantization latent h against the reference, nearest-entry ties, and a
 * config with attention inside levels (taming's attn_resolutions), which no fixture has, Vector API against scalar.
 */
class VqModelTest {
    private static final VectorBackend VECTOR = new VectorBackend(2);
    private static final List<Backend> BACKENDS = List.of(VECTOR, new ScalarBackend());

    @AfterAll
    static void close() {
        VECTOR.parallel().close();
    }

    @Test
    void unquantizedLatentMatchesTheReferenceH() {
        Path dir = Fixtures.caseDir("vq_f4");
        Map<String, Object> test = Fixtures.tests(Fixtures.manifest(dir)).getFirst();
        for (Backend b : BACKENDS) {
            try (Model m = ModelLoader.load(dir.resolve("model.safetensors"), b, null);
                 Tensor image = Fixtures.input(dir, test, "image");
                 Tensor h = ((VqModel) m.vae()).encodeUnquantized(image)) {
                Fixtures.assertOutput(dir, test, "h", h, b.name() + " vq_f4 encode_32x32");
            }
        }
    }

    /** decode quantizes first (so every front end and every tile does); the view without decodes as given. */
    @Test
    void decodeQuantizesUnlessAskedNotTo() {
        Path dir = Fixtures.caseDir("vq_f4");
        Map<String, Object> test = Fixtures.tests(Fixtures.manifest(dir)).getFirst();
        try (Model m = ModelLoader.load(dir.resolve("model.safetensors"), VECTOR, null);
             Tensor h = Npy.read(dir.resolve("encode_32x32.h.npy"));
             Tensor quant = Npy.read(dir.resolve("encode_32x32.quant.npy"));
             Tensor fromH = m.vae().decode(h);
             Tensor asGiven = ((VqModel) m.vae()).withoutQuantization().decode(quant);
             Tensor unquantized = ((VqModel) m.vae()).withoutQuantization().decode(h)) {
            Fixtures.assertOutput(dir, test, "image_out", fromH, "java vq_f4 decode(h)");
            Fixtures.assertOutput(dir, test, "image_out", asGiven, "java vq_f4 withoutQuantization().decode(quant)");
            assertTrue(Random4.maxAbsDiff(fromH, unquantized) > 1e-3f, "h itself decodes differently");
        }
    }

    /** Equal distances go to the lowest index, as torch's argmin; a duplicated row's codes are its first. */
    @Test
    void tiesGoToTheLowestIndex() {
        float[] rows = {1, 0, 0, 1, 1, 0, 0.5f, 0.5f};
        float[] z = {1, 0.75f, 0.5f, 0, 0.25f, 0.5f}; // positions (1,0), (0.75,0.25), (0.5,0.5), channels first
        for (Backend b : BACKENDS) {
            try (Tensor e = Tensor.of(rows, 4, 2); Codebook codebook = new Codebook(b, e);
                 Tensor latent = Tensor.of(z, 1, 2, 1, 3); Tensor q = codebook.quantize(b, latent)) {
                assertArrayEquals(new long[]{0, 0, 3}, codebook.nearest(b, latent), b.name());
                assertArrayEquals(new long[]{0, 0, 3}, codebook.indicesOf(b, q), b.name());
                assertArrayEquals(new float[]{1, 1, 0.5f, 0, 0, 0.5f}, q.toFloatArray(), b.name());
            }
        }
    }

    @Test
    void backendsAgreeOnNearestEntries() {
        SplittableRandom random = new SplittableRandom(3);
        float[] rows = new float[64 * 5], z = new float[2 * 5 * 7 * 9];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) random.nextGaussian();
        }
        for (Backend b : BACKENDS) {
            try (Tensor e = Tensor.of(rows, 64, 5); Codebook codebook = new Codebook(b, e);
                 Tensor latent = Tensor.of(z, 2, 5, 7, 9)) {
                long[] got = codebook.nearest(b, latent);
                for (int p = 0; p < got.length; p++) {
                    assertNearest(rows, z, p, 5, 64, 63, got[p], b.name());
                }
            }
        }
    }

    /** A codebook large enough that the scores are made in bands of two rows: the same entries as brute force. */
    @Test
    void largeCodebooksScoreInBandsOfRows() {
        SplittableRandom random = new SplittableRandom(4);
        int size = 65536, dim = 2, h = 5, w = 64;
        float[] rows = new float[size * dim], z = new float[dim * h * w];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) random.nextGaussian();
        }
        for (Backend b : BACKENDS) {
            try (Tensor e = Tensor.of(rows, size, dim); Codebook codebook = new Codebook(b, e);
                 Tensor latent = Tensor.of(z, 1, dim, h, w)) {
                long[] got = codebook.nearest(b, latent);
                for (int p = 0; p < got.length; p++) {
                    assertNearest(rows, z, p, dim, size, h * w, got[p], b.name());
                }
            }
        }
    }

    /**
     * Entry {@code chosen} is the nearest to position p of an NCHW latent, up to float rounding of the distances
     * (a near tie may go either way on another CPU's kernels).
     */
    private static void assertNearest(float[] rows, float[] z, int p, int dim, int size, int plane, long chosen,
                                      String label) {
        double best = Double.MAX_VALUE;
        for (int j = 0; j < size; j++) {
            best = Math.min(best, distance(rows, z, p, dim, plane, j));
        }
        double got = distance(rows, z, p, dim, plane, (int) chosen);
        assertTrue(got <= best + 1e-5, label + " position " + p + ": entry " + chosen + " at " + got + ", nearest "
                + best);
    }

    private static double distance(float[] rows, float[] z, int p, int dim, int plane, int j) {
        int b = p / plane, pixel = p % plane;
        double d = 0;
        for (int c = 0; c < dim; c++) {
            double diff = z[(b * dim + c) * plane + pixel] - rows[j * dim + c];
            d += diff * diff;
        }
        return d;
    }

    /**
     * The fixture's model with attention added after every residual block of level 1 (taming's attn_resolutions
     * at 1/2 of the image): the config says so, every tensor is used, and both backends give the same images.
     */
    @Test
    void attentionInsideLevelsRunsTheSameOnBothBackends() {
        Path dir = Fixtures.caseDir("vq_f4");
        Map<String, Object> test = Fixtures.tests(Fixtures.manifest(dir)).getFirst();
        Tensor[] outputs = new Tensor[2];
        for (int k = 0; k < 2; k++) {
            try (WeightFile fixture = WeightFiles.open(dir.resolve("model.safetensors"))) {
                SequencedMap<String, Tensor> tensors = new LinkedHashMap<>(fixture.tensors());
                SplittableRandom random = new SplittableRandom(11);
                List<String> blocks = List.of("encoder.down.1.attn.0", "decoder.up.1.attn.0", "decoder.up.1.attn.1");
                for (String block : blocks) {
                    for (String part : List.of("q", "k", "v", "proj_out")) {
                        tensors.put(block + "." + part + ".weight", gaussian(random, 0.2, 32, 32, 1, 1));
                        tensors.put(block + "." + part + ".bias", gaussian(random, 0.05, 32));
                    }
                    tensors.put(block + ".norm.weight", gaussian(random, 0.1, 32));
                    tensors.put(block + ".norm.bias", gaussian(random, 0.1, 32));
                }
                try (Model m = ModelLoader.load(new MemoryWeights("attention", tensors), null, BACKENDS.get(k), null);
                     Tensor image = Fixtures.input(dir, test, "image")) {
                    VqModel vq = (VqModel) m.vae();
                    assertArrayEquals(new boolean[]{false, true, false}, vq.config().encoderAttention());
                    assertArrayEquals(new boolean[]{false, true, false}, vq.config().decoderAttention());
                    assertTrue(m.info().architecture().contains("attention at downscale [2]"),
                            m.info().architecture());
                    try (Tensor h = vq.encodeUnquantized(image)) {
                        outputs[k] = vq.decode(h);
                    }
                }
            }
        }
        try (Tensor vector = outputs[0]; Tensor scalar = outputs[1]) {
            float diff = Random4.maxAbsDiff(vector, scalar);
            assertTrue(diff <= 5e-5f, "vector vs scalar " + diff);
        }
    }

    private static Tensor gaussian(SplittableRandom random, double std, int... shape) {
        Tensor t = Tensor.allocate(shape);
        for (long i = 0; i < t.numel(); i++) {
            t.set(i, (float) (random.nextGaussian() * std));
        }
        return t;
    }
}
