package io.vae4j.format.image;

import io.vae4j.VaeException;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.AtomicFiles;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Videos as looping animated GIFs, through ImageIO's GIF writer (which reduces each frame to a 256-colour palette):
 * a quick look at decoded frames, not a lossless output (the .npy and the numbered PNGs are that).
 */
public final class AnimatedGif {
    private static final String FORMAT = "javax_imageio_gif_image_1.0";

    private AnimatedGif() {
    }

    /**
     * Writes the frames [B·T, 3, H, W] as B GIFs of T frames each: {@code out} itself for one video, else
     * {@link Images#batchPath batchPath(out, b)}; each written atomically.
     *
     * @param delayCs each frame's display time in hundredths of a second
     * @return the files written
     */
    public static List<Path> write(Path out, Tensor frames, int framesPerVideo, PixelRange range, int delayCs) {
        int videos = frames.dim(0) / framesPerVideo;
        List<Path> written = new ArrayList<>(videos);
        for (int v = 0; v < videos; v++) {
            Path file = videos == 1 ? out : Images.batchPath(out, v);
            int first = v * framesPerVideo;
            AtomicFiles.write(file, tmp -> {
                ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
                try (ImageOutputStream stream = ImageIO.createImageOutputStream(tmp.toFile())) {
                    writer.setOutput(stream);
                    writer.prepareWriteSequence(null);
                    for (int t = 0; t < framesPerVideo; t++) {
                        BufferedImage image = Images.toBufferedImage(frames, range, first + t);
                        writer.writeToSequence(new IIOImage(image, null, metadata(writer, image, delayCs, t == 0)),
                                null);
                    }
                    writer.endWriteSequence();
                } finally {
                    writer.dispose();
                }
            });
            written.add(file);
        }
        return List.copyOf(written);
    }

    /** The frame's delay; the first frame also says to loop forever (the NETSCAPE2.0 extension every viewer reads). */
    private static IIOMetadata metadata(ImageWriter writer, BufferedImage image, int delayCs, boolean first) {
        IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), null);
        IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(FORMAT);
        IIOMetadataNode control = child(root, "GraphicControlExtension");
        control.setAttribute("disposalMethod", "none");
        control.setAttribute("userInputFlag", "FALSE");
        control.setAttribute("transparentColorFlag", "FALSE");
        control.setAttribute("delayTime", Integer.toString(delayCs));
        control.setAttribute("transparentColorIndex", "0");
        if (first) {
            IIOMetadataNode app = new IIOMetadataNode("ApplicationExtension");
            app.setAttribute("applicationID", "NETSCAPE");
            app.setAttribute("authenticationCode", "2.0");
            app.setUserObject(new byte[]{1, 0, 0});
            child(root, "ApplicationExtensions").appendChild(app);
        }
        try {
            meta.setFromTree(FORMAT, root);
        } catch (javax.imageio.metadata.IIOInvalidTreeException e) {
            throw new VaeException("cannot write an animated GIF: " + e.getMessage(), e);
        }
        return meta;
    }

    private static IIOMetadataNode child(IIOMetadataNode root, String name) {
        for (int i = 0; i < root.getLength(); i++) {
            if (root.item(i).getNodeName().equals(name)) {
                return (IIOMetadataNode) root.item(i);
            }
        }
        IIOMetadataNode node = new IIOMetadataNode(name);
        root.appendChild(node);
        return node;
    }
}
