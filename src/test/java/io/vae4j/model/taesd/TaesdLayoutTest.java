package io.vae4j.model.taesd;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.format.WeightFile;
import io.vae4j.format.WeightFiles;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same TAESD weights in the other layouts found in the wild, both halves in one file: diffusers'
 * AutoencoderTiny ({@code encoder.layers.K}, {@code decoder.layers.K-1}, as a diffusers folder with its config) and
 * {@code encoder.K} / {@code decoder.K}. Each must reproduce the reference outputs like the original files.
 */
class TaesdLayoutTest {
    private static final VectorBackend BACKEND = new VectorBackend(2);

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
    }

    @TempDir
    Path tmp;

    /** Writes taesd_random's encoder and decoder files as one file, renaming keys. */
    private static void combine(Path dir, Path target, UnaryOperator<String> encoder, UnaryOperator<String> decoder) {
        try (WeightFile enc = WeightFiles.open(dir.resolve("taesd_encoder.safetensors"));
             WeightFile dec = WeightFiles.open(dir.resolve("taesd_decoder.pth"))) {
            SequencedMap<String, Tensor> all = new LinkedHashMap<>();
            enc.tensors().forEach((k, v) -> all.put(encoder.apply(k), v));
            dec.tensors().forEach((k, v) -> all.put(decoder.apply(k), v));
            SafetensorsFile.write(target, all, Map.of());
        }
    }

    private static String shift(String key, int by) {
        int dot = key.indexOf('.');
        return (Integer.parseInt(key.substring(0, dot)) + by) + key.substring(dot);
    }

    @Test
    void diffusersAutoencoderTinyFolder() throws IOException {
        Path dir = Fixtures.caseDir("taesd_random");
        Path folder = Files.createDirectory(tmp.resolve("taesd-diffusers"));
        combine(dir, folder.resolve("diffusion_pytorch_model.safetensors"), k -> "encoder.layers." + k,
                k -> "decoder.layers." + shift(k, -1));
        Files.writeString(folder.resolve("config.json"), """
                {"_class_name": "AutoencoderTiny", "latent_channels": 4, "scaling_factor": 1.0,
                 "shift_factor": 0.0, "latent_magnitude": 3, "latent_shift": 0.5}""");
        try (Model m = ModelLoader.load(folder, BACKEND, null)) {
            Taesd vae = (Taesd) m.vae();
            assertTrue(vae.canEncode() && vae.canDecode());
            assertEquals("diffusers AutoencoderTiny", m.info().layout());
            assertEquals(2_445_063L, m.info().totalParameters());
            assertTrue(m.info().latentSpace().source().startsWith("config.json"), m.info().latentSpace().source());
            assertEquals(1.0, m.info().latentSpace().scale());
            TaesdConformanceTest.run(dir, Fixtures.manifest(dir), vae, vae, "taesd_random/diffusers");
        }
    }

    @Test
    void encoderAndDecoderPrefixesInOneFile() {
        Path dir = Fixtures.caseDir("taesd_random");
        Path file = tmp.resolve("taesd.safetensors");
        combine(dir, file, k -> "encoder." + k, k -> "decoder." + k);
        try (Model m = ModelLoader.load(file, BACKEND, null)) {
            Taesd vae = (Taesd) m.vae();
            assertTrue(m.info().layout().contains("'encoder.'"), m.info().layout());
            assertEquals("taesd/taesdxl (z=4, 8x) encoder+decoder", vae.config().describe());
            TaesdConformanceTest.run(dir, Fixtures.manifest(dir), vae, vae, "taesd_random/combined");
        }
    }
}
