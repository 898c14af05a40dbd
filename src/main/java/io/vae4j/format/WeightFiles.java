package io.vae4j.format;

import io.vae4j.VaeException;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.format.torch.TorchFile;
import io.vae4j.util.IoErrors;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a weight file by its content, not its name: zip or pickle means PyTorch, anything else safetensors. */
public final class WeightFiles {
    private WeightFiles() {
    }

    public static WeightFile open(Path file) {
        if (!Files.exists(file)) {
            throw new VaeException(file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new VaeException(file + ": not a regular file");
        }
        byte[] head = new byte[9];
        try (InputStream in = Files.newInputStream(file)) {
            int n = in.readNBytes(head, 0, head.length);
            // A safetensors file opens with its header length and then '{'; the length's first byte can be 0x80
            // or 'P', so that check comes before the zip and pickle magic.
            boolean safetensors = n == 9 && head[8] == '{';
            if (!safetensors && n >= 2 && ((head[0] == 'P' && head[1] == 'K') || (head[0] & 0xff) == 0x80)) {
                return TorchFile.open(file);
            }
        } catch (IOException e) {
            throw new VaeException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        return SafetensorsFile.open(file);
    }
}
