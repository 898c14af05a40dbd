package io.vae4j.format.json;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vae4j.fuzz.Hostile;

import java.nio.charset.StandardCharsets;

/** The JSON reader (config.json, safetensors headers), from any text. */
class JsonFuzzTest {
    @FuzzTest
    void parse(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        // Nesting is limited (Json.MAX_DEPTH), so the tree is a bounded multiple of the text.
        Hostile.parse(data.length, 256, 1 << 16, () -> {
            Json.parse(text);
            return null;
        });
    }
}
