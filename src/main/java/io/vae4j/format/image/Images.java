package io.vae4j.format.image;

import io.vae4j.VaeException;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.AtomicFiles;
import io.vae4j.util.IoErrors;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriter;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Raster images (PNG, JPEG and whatever else {@link ImageIO} reads) to and from float32 NCHW tensors.
 *
 * <p>Reading gives an owned {@code [1, 3, H, W]} float32 tensor, values per {@link PixelRange}:
 * <ul>
 *   <li>8-bit samples map {@code v / 255}, 16-bit ones (16-bit PNG) {@code v / 65535}, other component depths
 *       {@code v / (2^bits - 1)}.</li>
 *   <li>Grayscale is replicated to the three channels.</li>
 *   <li>Alpha is dropped, not composited: a fully transparent pixel keeps whatever colour it stores.</li>
 *   <li>Samples are taken as stored, without colour management (embedded ICC profiles and gamma chunks are
 *       ignored), as PIL's {@code convert("RGB")} does. Palette, packed and other colour models go through
 *       ImageIO's conversion to 8-bit sRGB.</li>
 *   <li>Multi-image files (animated GIF, multi-page TIFF) give their first image. EXIF orientation is not
 *       applied.</li>
 * </ul>
 *
 * <p>Writing takes {@code [N, 3, H, W]} tensors (any {@link DType}) and writes 8-bit RGB PNGs, each atomically
 * (temporary file in the target directory, then a rename). Values are clamped to the range and rounded as
 * {@link PixelRange#encode} describes; NaN becomes 0, and it is the caller's job to warn about it (see
 * {@link #countNaN}).
 */
public final class Images {

    /**
     * Largest image read, in pixels: a decoded image lives in one Java array of up to four samples per pixel.
     */
    static final long MAX_PIXELS = (Integer.MAX_VALUE - 8) / 4;

    private Images() {
    }

    /** An image whose header declares more pixels than the reader accepts; nothing was decoded. */
    public static final class TooLarge extends VaeException {
        TooLarge(String message) {
            super(message);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reading

    /**
     * Reads a raster image into a new owned float32 tensor {@code [1, 3, H, W]}.
     *
     * @throws VaeException "cannot read image FILE: REASON" when the file is missing, unreadable, not an image
     *                      format ImageIO knows, corrupt or truncated
     */
    public static Tensor read(Path file, PixelRange range) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(range, "range");
        BufferedImage image = decode(file);
        try {
            return toTensor(image, range);
        } catch (RuntimeException e) {
            throw readError(file, "cannot convert its pixels: " + IoErrors.reason(e), e);
        }
    }

    private static BufferedImage decode(Path file) {
        if (Files.isDirectory(file)) {
            throw readError(file, "it is a directory", null);
        }
        if (!Files.exists(file)) {
            throw readError(file, "no such file", null);
        }
        if (!Files.isReadable(file)) {
            throw readError(file, "permission denied", null);
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            return decode(in, file.toString(), MAX_PIXELS);
        } catch (VaeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw readError(file, decodeReason(e), e);
        }
    }

    /**
     * Reads an encoded image held in memory (an HTTP request body, say) into a new owned float32 tensor
     * {@code [1, 3, H, W]}. The size in its header is checked against {@code maxPixels} before any pixel is
     * decoded.
     *
     * @param name what the bytes are, for messages
     * @throws VaeException "cannot read image NAME: REASON" when the bytes are not an image ImageIO reads, corrupt,
     *                      truncated or too large
     */
    public static Tensor read(byte[] bytes, String name, PixelRange range, long maxPixels) {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(range, "range");
        BufferedImage image;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            image = decode(in, name, Math.min(maxPixels, MAX_PIXELS));
        } catch (VaeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw readError(name, decodeReason(e), e);
        }
        try {
            return toTensor(image, range);
        } catch (RuntimeException e) {
            throw readError(name, "cannot convert its pixels: " + IoErrors.reason(e), e);
        }
    }

    /** Whether these bytes start with the PNG signature. */
    public static boolean looksLikePng(byte[] b) {
        return startsWith(b, 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n');
    }

    /**
     * The width and height an encoded image's header declares, without decoding its pixels.
     *
     * @throws VaeException "cannot read image NAME: REASON" when no reader knows the bytes or the header is bad
     */
    public static int[] dimensions(byte[] bytes, String name) {
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw readError(name, "not an image format this runtime reads", null);
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                return new int[]{reader.getWidth(0), reader.getHeight(0)};
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw e instanceof VaeException v ? v : readError(name, decodeReason(e), e);
        }
    }

    /** Whether these bytes start like an image file ImageIO reads (PNG, JPEG, GIF, BMP, TIFF, WebP). */
    public static boolean looksLikeImage(byte[] b) {
        return startsWith(b, 0x89, 'P', 'N', 'G') || startsWith(b, 0xFF, 0xD8, 0xFF) || startsWith(b, 'G', 'I', 'F', '8')
                || startsWith(b, 'B', 'M') || startsWith(b, 'I', 'I', 42, 0) || startsWith(b, 'M', 'M', 0, 42)
                || (startsWith(b, 'R', 'I', 'F', 'F') && b.length > 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B');
    }

    private static boolean startsWith(byte[] b, int... magic) {
        if (b.length < magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((b[i] & 0xFF) != magic[i]) {
                return false;
            }
        }
        return true;
    }

    private static BufferedImage decode(ImageInputStream in, String file, long maxPixels) throws IOException {
        if (in == null) {
            throw readError(file, "cannot open it", null);
        }
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) {
            throw readError(file, "not an image format this runtime reads (it reads "
                    + String.join(", ", readableFormats()) + ")", null);
        }
        ImageReader reader = readers.next();
        try {
            reader.setInput(in, true, true);
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width <= 0 || height <= 0) {
                throw readError(file, "it has no pixels (" + width + "x" + height + ")", null);
            }
            if ((long) width * height > maxPixels) {
                throw new TooLarge("cannot read image " + file + ": it is too large (" + width + "x" + height
                        + ", at most " + maxPixels + " pixels)");
            }
            // The JPEG reader reports a truncated file as a warning and fills the rest with grey; PIL (and so
            // diffusers) refuses such files, and so do we.
            String[] truncated = new String[1];
            reader.addIIOReadWarningListener(truncationListener(truncated));
            BufferedImage image = reader.read(0);
            if (truncated[0] != null) {
                throw readError(file, "it is truncated or corrupt (" + truncated[0] + ")", null);
            }
            if (image == null) {
                throw readError(file, "the " + reader.getFormatName() + " decoder returned no image", null);
            }
            return image;
        } finally {
            reader.dispose();
        }
    }

    private static IIOReadWarningListener truncationListener(String[] seen) {
        return (source, warning) -> {
            String w = warning == null ? "" : warning.toLowerCase(Locale.ROOT);
            if (seen[0] == null && (w.contains("premature end") || w.contains("truncat"))) {
                seen[0] = warning;
            }
        };
    }

    /** The messages of a decoder failure and its causes: "Error reading PNG image data: EOFException". */
    private static String decodeReason(Throwable e) {
        StringBuilder sb = new StringBuilder();
        Throwable t = e;
        for (int depth = 0; t != null && depth < 5; depth++, t = t.getCause()) {
            String m = t.getMessage();
            if (m == null || m.isBlank()) {
                m = t.getClass().getSimpleName();
            } else if (!(t instanceof IOException)) {
                m = t.getClass().getSimpleName() + ": " + m;
            }
            if (sb.indexOf(m) < 0) {
                sb.append(sb.isEmpty() ? "" : ": ").append(m);
            }
        }
        return "it is corrupt or unsupported (" + sb + ")";
    }

    private static List<String> readableFormats() {
        return Arrays.stream(ImageIO.getReaderFormatNames()).map(s -> s.toLowerCase(Locale.ROOT)).distinct()
                .sorted().toList();
    }

    private static VaeException readError(Object file, String reason, Throwable cause) {
        return new VaeException("cannot read image " + file + ": " + reason, cause);
    }

    /** An image as an owned float32 tensor [1, 3, H, W] in the given range (alpha dropped, grey widened). */
    public static Tensor fromBufferedImage(BufferedImage image, PixelRange range) {
        Objects.requireNonNull(image, "image");
        return toTensor(image, range);
    }

    /** Image {@code index} of a batch [N, 3, H, W] as an 8-bit RGB image; NaN becomes 0. */
    public static BufferedImage toBufferedImage(Tensor images, PixelRange range, int index) {
        checkBatch(Path.of("image"), images);
        return toImage(images, range, index, new long[1]);
    }

    /** Converts a decoded image to an owned float32 tensor [1, 3, H, W]. */
    static Tensor toTensor(BufferedImage image, PixelRange range) {
        int w = image.getWidth();
        int h = image.getHeight();
        Tensor t = Tensor.allocate(DType.F32, 1, 3, h, w);
        try {
            if (!copyComponents(image, range, t)) {
                copyRgb(image, range, t);
            }
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /**
     * The fast and exact path for RGB and grey images with a {@link ComponentColorModel} (what ImageIO gives for
     * 8- and 16-bit PNG, JPEG, BMP and most TIFF): the raw samples, taken a row at a time from the raster.
     * Returns false for any other kind of image.
     */
    private static boolean copyComponents(BufferedImage image, PixelRange range, Tensor t) {
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        if (!(cm instanceof ComponentColorModel) || cm.isAlphaPremultiplied()
                || raster.getNumBands() != cm.getNumComponents()) {
            return false;
        }
        int type = cm.getColorSpace().getType();
        int colours = cm.getNumColorComponents();
        boolean rgb = type == ColorSpace.TYPE_RGB && colours == 3;
        boolean grey = type == ColorSpace.TYPE_GRAY && colours == 1;
        int transfer = cm.getTransferType();
        if (!(rgb || grey) || (transfer != DataBuffer.TYPE_BYTE && transfer != DataBuffer.TYPE_USHORT)) {
            return false;
        }
        int bits = cm.getComponentSize(0);
        for (int c = 1; c < colours; c++) {
            if (cm.getComponentSize(c) != bits) {
                return false;
            }
        }
        if (bits < 1 || bits > 16) {
            return false;
        }
        float[] lut = decodeTable(range, (1 << bits) - 1);
        int w = image.getWidth();
        int h = image.getHeight();
        int x0 = raster.getMinX();
        int y0 = raster.getMinY();
        int[] samples = new int[w];
        float[] row = new float[w];
        MemorySegment seg = t.data();
        long plane = (long) h * w * 4;
        for (int band = 0; band < colours; band++) {
            for (int y = 0; y < h; y++) {
                raster.getSamples(x0, y0 + y, w, 1, band, samples);
                for (int x = 0; x < w; x++) {
                    row[x] = lut[samples[x]];
                }
                long at = (long) y * w * 4;
                if (grey) {
                    for (int c = 0; c < 3; c++) {
                        MemorySegment.copy(row, 0, seg, DType.FLOAT, c * plane + at, w);
                    }
                } else {
                    MemorySegment.copy(row, 0, seg, DType.FLOAT, band * plane + at, w);
                }
            }
        }
        return true;
    }

    /** Any other image: ImageIO's conversion to 8-bit sRGB, a row at a time. */
    private static void copyRgb(BufferedImage image, PixelRange range, Tensor t) {
        float[] lut = decodeTable(range, 255);
        int w = image.getWidth();
        int h = image.getHeight();
        int[] argb = new int[w];
        float[] r = new float[w];
        float[] g = new float[w];
        float[] b = new float[w];
        MemorySegment seg = t.data();
        long plane = (long) h * w * 4;
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, argb, 0, w);
            for (int x = 0; x < w; x++) {
                int p = argb[x];
                r[x] = lut[(p >>> 16) & 0xff];
                g[x] = lut[(p >>> 8) & 0xff];
                b[x] = lut[p & 0xff];
            }
            long at = (long) y * w * 4;
            MemorySegment.copy(r, 0, seg, DType.FLOAT, at, w);
            MemorySegment.copy(g, 0, seg, DType.FLOAT, plane + at, w);
            MemorySegment.copy(b, 0, seg, DType.FLOAT, 2 * plane + at, w);
        }
    }

    private static float[] decodeTable(PixelRange range, int max) {
        float[] lut = new float[max + 1];
        for (int v = 0; v <= max; v++) {
            lut[v] = range.decode(v, max);
        }
        return lut;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Writing

    /**
     * Writes image {@code index} of a batch {@code [N, 3, H, W]} as an 8-bit RGB PNG, atomically.
     *
     * @return how many tensor values were NaN (written as 0), for the caller to warn about
     * @throws VaeException "cannot write FILE: REASON" when the directory is missing or unwritable or the write
     *                      fails (no partial or temporary file is left behind); also for a tensor that is not
     *                      {@code [N, 3, H, W]}
     */
    public static long writePng(Path file, Tensor images, PixelRange range, int index) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(range, "range");
        checkBatch(file, images);
        if (index < 0 || index >= images.dim(0)) {
            throw new IndexOutOfBoundsException("image " + index + " of a batch of " + images.dim(0));
        }
        long[] nans = new long[1];
        BufferedImage image = toImage(images, range, index, nans);
        AtomicFiles.write(file, tmp -> {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                encodePng(image, out);
            }
        });
        return nans[0];
    }

    /**
     * Writes every image of a batch {@code [N, 3, H, W]} as PNG: a batch of one goes to {@code out} itself, a
     * larger batch to {@link #batchPath batchPath(out, i)} for each {@code i}. Each file is written atomically.
     *
     * @return the files written, in batch order
     */
    public static List<Path> writePngs(Path out, Tensor batch, PixelRange range) {
        Objects.requireNonNull(out, "out");
        checkBatch(out, batch);
        int n = batch.dim(0);
        if (n == 0) {
            throw new VaeException("cannot write " + out + ": the batch holds no images");
        }
        List<Path> written = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Path file = n == 1 ? out : batchPath(out, i);
            writePng(file, batch, range, i);
            written.add(file);
        }
        return List.copyOf(written);
    }

    /**
     * The file for image {@code index} of a batch written to {@code out}: the index goes before the extension
     * ({@code a/img.png} gives {@code a/img.0.png}), or at the end when the name has none ({@code img} gives
     * {@code img.0}).
     */
    public static Path batchPath(Path out, int index) {
        String name = out.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String indexed = dot > 0 ? name.substring(0, dot) + "." + index + name.substring(dot) : name + "." + index;
        return out.resolveSibling(indexed);
    }

    /** How many values of a tensor are NaN: what {@link #writePng} writes as 0. */
    public static long countNaN(Tensor t) {
        long n = t.numel();
        long nans = 0;
        for (long i = 0; i < n; i++) {
            if (Float.isNaN(t.get(i))) {
                nans++;
            }
        }
        return nans;
    }

    private static void checkBatch(Path file, Tensor images) {
        Objects.requireNonNull(images, "images");
        if (images.rank() != 4 || images.dim(1) != 3) {
            throw new VaeException("cannot write " + file + ": expected an image batch [N, 3, H, W], got "
                    + Arrays.toString(images.shape()));
        }
        long pixels = (long) images.dim(2) * images.dim(3);
        if (pixels == 0) {
            throw new VaeException("cannot write " + file + ": the image is empty " + Arrays.toString(images.shape()));
        }
        if (pixels > (Integer.MAX_VALUE - 8) / 3) {
            throw new VaeException("cannot write " + file + ": the image is too large for PNG output "
                    + Arrays.toString(images.shape()));
        }
    }

    /** Image {@code index} of the batch as an 8-bit RGB image; counts NaN values into {@code nans[0]}. */
    static BufferedImage toImage(Tensor images, PixelRange range, int index, long[] nans) {
        int h = images.dim(2);
        int w = images.dim(3);
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        byte[] bgr = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
        MemorySegment seg = images.data();
        DType dtype = images.dtype();
        long plane = (long) h * w;
        long base = index * 3 * plane;
        float[] row = new float[w];
        long nan = 0;
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                long first = base + c * plane + (long) y * w;
                if (dtype == DType.F32) {
                    MemorySegment.copy(seg, DType.FLOAT, first * 4, row, 0, w);
                } else {
                    for (int x = 0; x < w; x++) {
                        row[x] = dtype.get(seg, first + x);
                    }
                }
                int at = y * w * 3 + (2 - c); // TYPE_3BYTE_BGR stores B, G, R
                for (int x = 0; x < w; x++, at += 3) {
                    float v = row[x];
                    if (v != v) {
                        nan++;
                    }
                    bgr[at] = (byte) range.encode(v);
                }
            }
        }
        nans[0] += nan;
        return image;
    }

    /**
     * Writes image {@code index} of a batch {@code [N, 3, H, W]} as an 8-bit baseline JPEG to a stream the caller
     * owns.
     *
     * @param quality 0 to 1 (0.75 is ImageIO's and PIL's default)
     */
    public static void writeJpeg(OutputStream out, Tensor images, PixelRange range, int index, float quality)
            throws IOException {
        checkBatch(Path.of("jpeg"), images);
        encode(toImage(images, range, index, new long[1]), "jpeg", out, quality);
    }

    private static void encodePng(BufferedImage image, OutputStream out) throws IOException {
        encode(image, "png", out, -1);
    }

    /** Encodes with ImageIO's writer for the format; a quality in [0, 1] where the format has one, else -1. */
    private static void encode(BufferedImage image, String format, OutputStream out, float quality)
            throws IOException {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName(format);
        if (!writers.hasNext()) {
            throw new IOException("this Java runtime has no " + format.toUpperCase(Locale.ROOT) + " encoder");
        }
        ImageWriter writer = writers.next();
        try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(ios);
            ImageWriteParam param = writer.getDefaultWriteParam();
            if (quality >= 0) {
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(quality);
            }
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
    }
}
