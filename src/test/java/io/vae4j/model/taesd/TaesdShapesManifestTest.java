package io.vae4j.model.taesd;

import io.vae4j.Conformance;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.format.json.Json;
import io.vae4j.model.Family;
import io.vae4j.model.Model;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real released TAESD models' tensor names and shapes (shapes/ manifests) load in every layout the manifest
 * lists, as the right variant and with the stated parameter counts; and {@link TaesdShapes} lists exactly those
 * tensors. Values are zeros: every tensor views one shared zero buffer.
 */
class TaesdShapesManifestTest {

    @SuppressWarnings("unchecked")
    private static Map<String, Object> manifest(String model) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(
                Conformance.dirOrSkip().resolve("shapes").resolve(model + ".json")));
    }

    @SuppressWarnings("unchecked")
    private static SequencedMap<String, int[]> keys(Map<String, Object> layout) {
        SequencedMap<String, int[]> out = new LinkedHashMap<>();
        for (Map<String, Object> k : (List<Map<String, Object>>) layout.get("keys")) {
            out.put((String) k.get("name"), ((List<Object>) k.get("shape")).stream()
                    .mapToInt(o -> ((Number) o).intValue()).toArray());
        }
        return out;
    }

    private static MemoryWeights zeros(SequencedMap<String, int[]> shapes, Arena arena) {
        long largest = shapes.values().stream().mapToLong(Tensor::numel).max().orElse(0) * 4;
        MemorySegment zero = arena.allocate(Math.max(largest, 4));
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> tensors.put(name,
                Tensor.view(zero.asSlice(0, Tensor.numel(shape) * 4), DType.F32, shape)));
        // Views own nothing, so closing the weights leaves the shared buffer to the arena.
        return new MemoryWeights("shapes", tensors);
    }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "taesd, pth_encoder, TAESD", "taesd, pth_decoder, TAESD", "taesd, diffusers, TAESD",
            "taesdxl, pth_encoder, TAESD", "taesdxl, pth_decoder, TAESD", "taesdxl, diffusers, TAESD",
            "taesd3, pth_encoder, TAESD3", "taesd3, pth_decoder, TAESD3", "taesd3, diffusers, TAESD3",
            "taef1, pth_encoder, TAESD3", "taef1, pth_decoder, TAESD3", "taef1, diffusers, TAESD3",
            "taef2, pth_encoder, TAEF2", "taef2, pth_decoder, TAEF2",
            "taesana, pth_encoder, TAESANA", "taesana, pth_decoder, TAESANA"})
    void releasedModelShapesLoad(String model, String layoutName, TaesdVariant variant) throws IOException {
        Map<String, Object> m = manifest(model);
        Map<String, Object> layout = ((Map<String, Map<String, Object>>) m.get("layouts")).get(layoutName);
        Map<String, Object> config = (Map<String, Object>) layout.get("config");
        Map<String, Number> counts = (Map<String, Number>) m.get("num_params");
        SequencedMap<String, int[]> shapes = keys(layout);
        try (Arena arena = Arena.ofConfined();
             Model loaded = ModelLoader.load(zeros(shapes, arena), config, new ScalarBackend(), null)) {
            Taesd taesd = (Taesd) loaded.vae();
            ModelInfo info = loaded.info();
            assertEquals(variant, taesd.config().variant(), info.architecture());
            assertEquals(Family.TAESD, info.latentSpace().family());
            assertEquals(1.0, info.latentSpace().scale());
            assertEquals(0.0, info.latentSpace().shift());
            assertEquals(variant == TaesdVariant.TAESANA ? 32 : 8, taesd.downscale());
            boolean encoder = !layoutName.equals("pth_decoder"), decoder = !layoutName.equals("pth_encoder");
            assertEquals(encoder, taesd.canEncode());
            assertEquals(decoder, taesd.canDecode());
            if (encoder) {
                assertEquals(counts.get("encoder").longValue(), info.parameters().get("encoder"));
            }
            if (decoder) {
                assertEquals(counts.get("decoder").longValue(), info.parameters().get("decoder"));
            }
            if (encoder && decoder) {
                assertEquals(counts.get("total").longValue(), info.totalParameters());
            }
            // The generator lists the same names and shapes as the real file, in the same layout.
            TaesdLayout named = layoutName.equals("diffusers")
                    ? new TaesdLayout("diffusers", "encoder.layers.", "decoder.layers.", -1)
                    : new TaesdLayout(layoutName, encoder ? "" : null, decoder ? "" : null, 0);
            SequencedMap<String, int[]> generated = TaesdShapes.of(taesd.config(), named);
            assertEquals(describe(shapes), describe(generated));
        }
    }

    private static Map<String, String> describe(SequencedMap<String, int[]> shapes) {
        Map<String, String> out = new java.util.TreeMap<>();
        shapes.forEach((k, v) -> out.put(k, Arrays.toString(v)));
        return out;
    }

    @org.junit.jupiter.api.Test
    void familyOfTheRightWidthIsAccepted() throws IOException {
        Map<String, Object> m = manifest("taesd3");
        @SuppressWarnings("unchecked")
        SequencedMap<String, int[]> shapes = keys(((Map<String, Map<String, Object>>) m.get("layouts"))
                .get("pth_decoder"));
        try (Arena arena = Arena.ofConfined();
             Model loaded = ModelLoader.load(zeros(shapes, arena), null, new ScalarBackend(), Family.SD3)) {
            assertEquals(1.0, loaded.info().latentSpace().scale());
            assertTrue(loaded.info().latentSpace().source().contains("--family sd3"));
        }
        try (Arena arena = Arena.ofConfined()) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(io.vae4j.VaeException.class,
                    () -> ModelLoader.load(zeros(shapes, arena), null, new ScalarBackend(), Family.SDXL).close());
            assertTrue(e.getMessage().contains("--family sdxl needs a 4-channel model"), e.getMessage());
        }
    }
}
