package io.vae4j.format;

import io.vae4j.format.safetensors.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** Opening by content: a safetensors header length whose first byte looks like a pickle or zip magic. */
class WeightFilesTest {
    @TempDir
    Path tmp;

    private Path safetensorsWithHeaderLength(int length) throws IOException {
        String json = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        ByteBuffer b = ByteBuffer.allocate(8 + length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(length).put(json.getBytes(StandardCharsets.US_ASCII));
        while (b.position() < 8 + length) {
            b.put((byte) ' ');
        }
        b.putFloat(2.5f);
        Path file = tmp.resolve("w" + length + ".safetensors");
        Files.write(file, b.array());
        return file;
    }

    @Test
    void safetensorsWhoseLengthStartsLikeAPickleOrAZip() throws IOException {
        for (int length : new int[]{0x80, 0x180, 0x4b50}) {
            try (WeightFile w = WeightFiles.open(safetensorsWithHeaderLength(length))) {
                assertInstanceOf(SafetensorsFile.class, w);
                assertEquals(2.5f, w.tensors().get("x").get(0));
            }
        }
    }
}
