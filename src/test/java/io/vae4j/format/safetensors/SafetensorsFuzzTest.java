package io.vae4j.format.safetensors;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vae4j.fuzz.Hostile;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/** The safetensors header, its tensor table and the tensor views over the mapped file, from any bytes. */
class SafetensorsFuzzTest {
    private static final Path DIR = Hostile.dir("safetensors");

    @FuzzTest
    void open(byte[] data) {
        Path file = Hostile.input(DIR, "model.safetensors", data);
        // A header may be up to SafetensorsFile.MAX_HEADER_BYTES but no larger than the file: the JSON tree of n
        // bytes takes a bounded multiple of n.
        Hostile.parse(data.length, 64, 1 << 20, () -> {
            SafetensorsFile f = SafetensorsFile.open(file);
            for (Tensor t : f.tensors().values()) {
                if (t.numel() > 0) {
                    t.data().get(ValueLayout.JAVA_BYTE, t.data().byteSize() - 1); // the view really lies inside the file
                }
            }
            return f;
        });
        Hostile.nothingBeside(file);
    }
}
