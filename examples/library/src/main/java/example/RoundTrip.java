package example;

import io.vae4j.VaeModel;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Encodes a photo into a latent and decodes it back with vae4j's library facade:
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp ... example.RoundTrip
 * MODEL PHOTO OUT.png}.
 */
public final class RoundTrip {
    private RoundTrip() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: RoundTrip MODEL PHOTO OUT.png");
            System.exit(2);
        }
        try (VaeModel vae = VaeModel.load(Path.of(args[0]))) {
            BufferedImage photo = ImageIO.read(Path.of(args[1]).toFile());
            float[] latent = vae.encode(photo);
            int f = vae.downscale();
            BufferedImage back = vae.decodeImage(latent, photo.getHeight() / f, photo.getWidth() / f);
            ImageIO.write(back, "png", Path.of(args[2]).toFile());
            System.out.printf("%s: %d latent values (%d channels), %s family%n", args[1], latent.length,
                    vae.latentChannels(), vae.family());
        }
    }
}
