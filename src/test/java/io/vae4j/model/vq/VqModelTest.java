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
        long[] reference = null;
        for (Backend b : BACKENDS) {
            try (Tensor e = Tensor.of(rows, 64, 5); Codebook codebook = new Codebook(b, e);
                 Tensor latent = Tensor.of(z, 2, 5, 7, 9)) {
                long[] got = codebook.nearest(b, latent);
                for (int p = 0; p < got.length; p++) {
                    assertEquals(bruteForce(rows, z, p, 5, 63), got[p], b.name() + " position " + p);
                }
                if (reference != null) {
                    assertArrayEquals(reference, got);
                }
                reference = got;
            }
        }
    }

    /** argmin over squared distances in double, for position p of an NCHW latent of 7x9 planes. */
    private static long bruteForce(float[] rows, float[] z, int p, int dim, int last) {
        int plane = 63, b = p / plane, pixel = p % plane;
        long best = 0;
        double top = Double.MAX_VALUE;
        for (int j = 0; j <= last; j++) {
            double d = 0;
            for (int c = 0; c < dim; c++) {
                double diff = z[(b * dim + c) * plane + pixel] - rows[j * dim + c];
                d += diff * diff;
            }
            if (d < top) {
                top = d;
                best = j;
            }
        }
        return best;
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
