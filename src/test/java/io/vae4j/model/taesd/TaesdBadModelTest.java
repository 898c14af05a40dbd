package io.vae4j.model.taesd;

import io.vae4j.VaeException;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.BadInput;
import io.vae4j.format.MemoryWeights;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.RandomWeights;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TAESD files that are not what they claim to be: each refused with one line naming the file and the tensor. */
class TaesdBadModelTest {
    @TempDir
    Path tmp;

    private static final TaesdConfig TAEF2 = TaesdShapes.config(TaesdVariant.TAEF2);

    /** Loads a damaged random-weight file written to disk (so the message must name a real file). */
    private String loadError(SequencedMap<String, int[]> shapes, Consumer<SequencedMap<String, Tensor>> damage)
            throws IOException {
        Path file = tmp.resolve("taef2_decoder.safetensors");
        try (MemoryWeights w = RandomWeights.of("random", shapes, 1)) {
            SequencedMap<String, Tensor> tensors = new LinkedHashMap<>(w.tensors());
            damage.accept(tensors);
            SafetensorsFile.write(file, tensors, Map.of());
        }
        VaeException e = BadInput.expect(file, () -> ModelLoader.load(file, new ScalarBackend(), null).close());
        return e.getMessage();
    }

    @Test
    void intactRandomModelsOfEveryVariantLoad() {
        for (TaesdVariant v : new TaesdVariant[]{TaesdVariant.TAESD, TaesdVariant.TAESD3, TaesdVariant.TAEF2,
                TaesdVariant.TAESANA}) {
            TaesdConfig c = TaesdShapes.config(v);
            for (var shapes : java.util.List.of(TaesdShapes.encoder(c), TaesdShapes.decoder(c))) {
                try (Model m = ModelLoader.load(RandomWeights.of("random", shapes, 1), null, new ScalarBackend(),
                        null)) {
                    assertTrue(((Taesd) m.vae()).config().variant() == v, v + " " + m.info().architecture());
                }
            }
        }
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        String m = loadError(TaesdShapes.decoder(TAEF2), t -> t.remove("9.conv.2.weight"));
        assertTrue(m.contains("missing tensor '9.conv.2.weight'") && m.contains("[64, 64, 3, 3]"), m);
    }

    @Test
    void missingPoolTensorIsNamed() throws IOException {
        String m = loadError(TaesdShapes.decoder(TAEF2), t -> t.remove("4.pool.1.bias"));
        assertTrue(m.contains("missing tensor '4.pool.1.bias'"), m);
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        String m = loadError(TaesdShapes.decoder(TAEF2), t -> t.put("13.conv.0.weight", Tensor.allocate(64, 64, 1, 1)));
        assertTrue(m.contains("tensor '13.conv.0.weight' has shape [64, 64, 1, 1], expected [64, 64, 3, 3]"), m);
    }

    @Test
    void extraTensorIsNamed() throws IOException {
        String m = loadError(TaesdShapes.decoder(TAEF2), t -> t.put("18.pool.0.weight", Tensor.allocate(256, 64, 1,
                1)));
        assertTrue(m.contains("unexpected tensor") && m.contains("18.pool.0.weight"), m);
    }

    @Test
    void decoderWithoutItsInputConvolution() throws IOException {
        String m = loadError(TaesdShapes.decoder(TAEF2), t -> {
            t.remove("1.weight");
            t.put("1.weight", Tensor.allocate(64, 32));
        });
        assertTrue(m.contains("'1.weight'") && m.contains("input convolution"), m);
    }

    @Test
    void encoderWithoutItsOutputConvolution() throws IOException {
        String m = loadError(TaesdShapes.encoder(TAEF2), t -> {
            t.remove("14.weight");
            t.remove("14.bias");
        });
        assertTrue(m.contains("without its output convolution") && m.contains("(13)") && m.contains("module 14"), m);
    }

    @Test
    void halvesThatDoNotFitTogether() throws IOException {
        SequencedMap<String, int[]> shapes = new LinkedHashMap<>();
        TaesdShapes.encoder(TaesdShapes.config(TaesdVariant.TAESD)).forEach((k, v) -> shapes.put("encoder." + k, v));
        TaesdShapes.decoder(TaesdShapes.config(TaesdVariant.TAESD3)).forEach((k, v) -> shapes.put("decoder." + k, v));
        String m = loadError(shapes, t -> { });
        assertTrue(m.contains("do not fit together") && m.contains("4-channel") && m.contains("takes 16"), m);
    }

    /** A safetensors file cut short: the header names the first tensor whose data is gone. */
    @Test
    void truncatedSafetensorsNamesTheTensor() throws IOException {
        Path real = Fixtures.caseDir("taef2").resolve("taef2_decoder.safetensors");
        byte[] bytes = Files.readAllBytes(real);
        Path cut = tmp.resolve("taef2_decoder_cut.safetensors");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 1000));
        String m = BadInput.expect(cut, () -> ModelLoader.load(cut, new ScalarBackend(), null).close(),
                "tensor '").getMessage();
        assertTrue(m.contains("beyond"), m);
    }

    @Test
    void truncatedPthIsRefusedInOneLine() throws IOException {
        Path real = Fixtures.caseDir("taef2").resolve("taef2_encoder.pth");
        byte[] bytes = Files.readAllBytes(real);
        Path cut = tmp.resolve("taef2_encoder_cut.pth");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length / 2));
        BadInput.expect(cut, () -> ModelLoader.load(cut, new ScalarBackend(), null).close());
    }

    @Test
    void decoderFileCannotEncodeAndEncoderFileCannotDecode() {
        Path dir = Fixtures.caseDir("taef2");
        try (Model dec = ModelLoader.load(dir.resolve("taef2_decoder.pth"), new ScalarBackend(), null);
             Model enc = ModelLoader.load(dir.resolve("taef2_encoder.pth"), new ScalarBackend(), null);
             Tensor image = Tensor.allocate(1, 3, 16, 16); Tensor z = Tensor.allocate(1, 32, 2, 2);
             Tensor wrong = Tensor.allocate(1, 4, 2, 2)) {
            assertTrue(assertThrows(VaeException.class, () -> dec.vae().encode(image)).getMessage()
                    .contains("no encoder"));
            assertTrue(assertThrows(VaeException.class, () -> enc.vae().decode(z)).getMessage()
                    .contains("no decoder"));
            String m = assertThrows(VaeException.class, () -> dec.vae().decode(wrong)).getMessage();
            assertTrue(m.contains("expects [N, 32, H, W]") && m.contains("SD1/SD2/SDXL"), m);
        }
    }
}
