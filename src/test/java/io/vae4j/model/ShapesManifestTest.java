package io.vae4j.model;

import io.vae4j.Conformance;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.format.json.Json;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real full-size models' tensor names and shapes (shapes/ manifests) load in both layouts and report the right
 * architecture and parameter counts. Values are zeros: all tensors view one shared zero buffer, so no 300 MB files.
 */
class ShapesManifestTest {

    @SuppressWarnings("unchecked")
    private static Map<String, Object> manifest(String model) throws IOException {
        Path file = Conformance.dirOrSkip().resolve("shapes").resolve(model + ".json");
        return (Map<String, Object>) Json.parse(Files.readString(file));
    }

    @SuppressWarnings("unchecked")
    private static MemoryWeights zeros(Map<String, Object> layout, Arena arena) {
        List<Map<String, Object>> keys = (List<Map<String, Object>>) layout.get("keys");
        long largest = keys.stream().mapToLong(k -> Tensor.numel(shape(k))).max().orElse(0) * 4;
        MemorySegment zero = arena.allocate(largest);
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map<String, Object> k : keys) {
            int[] shape = shape(k);
            tensors.put((String) k.get("name"), Tensor.view(zero.asSlice(0, Tensor.numel(shape) * 4), DType.F32,
                    shape));
        }
        // Views own nothing, so closing the weights leaves the shared buffer to the arena.
        return new MemoryWeights("shapes", tensors);
    }

    @SuppressWarnings("unchecked")
    private static int[] shape(Map<String, Object> key) {
        return ((List<Object>) key.get("shape")).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "sd1_kl_f8, original, 4, sd1", "sd1_kl_f8, diffusers, 4, sd1",
            "sd2_kl_f8, original, 4, sd1", "sd2_kl_f8, diffusers, 4, sd1",
            "sdxl_vae, original, 4, sd1", "sdxl_vae, diffusers, 4, sdxl",
            "sd3_vae, original, 16, flux1", "sd3_vae, diffusers, 16, sd3",
            "flux1_ae, original, 16, flux1", "flux1_ae, diffusers, 16, flux1"})
    void realModelShapesLoad(String model, String layoutName, int z, String family) throws IOException {
        Map<String, Object> m = manifest(model);
        Map<String, Object> layout = ((Map<String, Map<String, Object>>) m.get("layouts")).get(layoutName);
        Map<String, Object> config = (Map<String, Object>) layout.get("config");
        Map<String, Number> counts = (Map<String, Number>) m.get("num_params");
        try (Arena arena = Arena.ofConfined();
             Model loaded = ModelLoader.load(zeros(layout, arena), config, new ScalarBackend(), null)) {
            ModelInfo info = loaded.info();
            assertTrue(info.architecture().contains("ch=128 ch_mult=[1, 2, 4, 4] num_res_blocks=2 z_channels=" + z),
                    info.architecture());
            assertEquals(counts.get("encoder").longValue(), info.parameters().get("encoder"));
            assertEquals(counts.get("decoder").longValue(), info.parameters().get("decoder"));
            assertEquals(counts.get("total").longValue(), info.totalParameters());
            assertEquals(family, info.latentSpace().family().id);
            assertTrue(info.layout().startsWith(layoutName.equals("original") ? "ldm" : "diffusers"), info.layout());
        }
    }

    /** The same shapes as a real file on disk, F16, under a whole-checkpoint prefix: mmapped and widened at load. */
    @SuppressWarnings("unchecked")
    @Test
    void sdVaeAsHalfPrecisionCheckpointFile(@TempDir Path dir) throws IOException {
        Map<String, Object> m = manifest("sd1_kl_f8");
        Map<String, Object> layout = ((Map<String, Map<String, Object>>) m.get("layouts")).get("original");
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map<String, Object> k : (List<Map<String, Object>>) layout.get("keys")) {
            tensors.put("first_stage_model." + k.get("name"), Tensor.allocate(DType.F16, shape(k)));
        }
        tensors.put("model.diffusion_model.out.0.weight", Tensor.allocate(DType.F16, 4));
        Path file = dir.resolve("sd-v1-5.safetensors");
        SafetensorsFile.write(file, tensors, Map.of());
        tensors.values().forEach(Tensor::close);
        try (Model loaded = ModelLoader.load(file, new ScalarBackend(), null)) {
            assertEquals(83_653_863L, loaded.info().totalParameters());
            assertEquals("F16", loaded.info().dtypes());
            assertEquals("ldm under 'first_stage_model.'", loaded.info().layout());
            assertEquals(83_653_863L * 2, loaded.info().weightBytes());
            assertEquals(83_653_863L * 4, loaded.info().convertedBytes());
        }
    }
}
