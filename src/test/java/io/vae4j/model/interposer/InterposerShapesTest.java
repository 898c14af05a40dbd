package io.vae4j.model.interposer;

import io.vae4j.Conformance;
import io.vae4j.backend.Random4;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.format.json.Json;
import io.vae4j.model.RandomWeights;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The released interposers' tensor names and shapes (shapes/interposer_*.json, 12 blocks) load under city96's file
 * names, with the configuration, direction and parameter count of the reference, and run.
 */
class InterposerShapesTest {

    @SuppressWarnings("unchecked")
    @ParameterizedTest
    @ValueSource(strings = {"v1-to-xl", "xl-to-v3", "fx-to-xl", "ca-to-v1"})
    void realShapesLoadWithTheirConfig(String variant) throws IOException {
        Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(
                Conformance.dirOrSkip().resolve("shapes").resolve("interposer_" + variant + ".json")));
        Map<String, Object> config = (Map<String, Object>) m.get("config");
        List<Map<String, Object>> keys = (List<Map<String, Object>>) ((Map<String, Map<String, Object>>)
                m.get("layouts")).get("original").get("keys");
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Map<String, Object> k : keys) {
            // num_batches_tracked (I64) is what the file readers skip.
            if (!"I64".equals(k.get("dtype"))) {
                shapes.put((String) k.get("name"), ((List<Object>) k.get("shape")).stream()
                        .mapToInt(o -> ((Number) o).intValue()).toArray());
            }
        }
        MemoryWeights w = RandomWeights.of(variant + "_interposer-v4.0.safetensors", shapes, 3);
        w.tensors().forEach((name, t) -> {
            if (name.endsWith("running_var")) {
                for (int c = 0; c < t.numel(); c++) {
                    t.set(c, 1f);
                }
            }
        });
        try (Interposer i = Interposer.load(new ScalarBackend(), w)) {
            InterposerConfig c = i.config();
            assertEquals(variant, c.variant());
            assertEquals(((Number) config.get("ch_in")).intValue(), c.channelsIn());
            assertEquals(((Number) config.get("ch_out")).intValue(), c.channelsOut());
            assertEquals(((Number) config.get("ch_mid")).intValue(), c.width());
            assertEquals(((Number) config.get("blocks")).intValue(), c.blocks());
            assertEquals(((Number) config.get("scale")).doubleValue(), c.scale());
            assertEquals(((Number) ((Map<String, Object>) m.get("num_params")).get("total")).longValue(),
                    i.totalParameters());
            try (Tensor z = new Random4(4).normal(1f, 1, c.channelsIn(), 4, 6); Tensor out = i.convert(z)) {
                int f = c.scale() == 1 ? 1 : 2;
                assertArrayEquals(new int[]{1, c.channelsOut(), 4 / f, 6 / f}, out.shape());
                assertFalse(Float.isNaN(out.get(0)));
            }
        }
    }
}
