package io.vae4j.server;

import io.vae4j.model.Family;
import io.vae4j.model.Vae;

import java.util.Arrays;
import java.util.Locale;

/**
 * What a decode request asks for, read from its query and checked against the model and the limits before the
 * body is read: 400 for a shape or parameter that cannot work, 413 for an image over {@code --max-pixels} or an
 * output that cannot fit the per-request memory budget.
 *
 * @param wireShape   the shape the body holds: [B, C, h, w], or a packed FLUX latent [B, h/2·w/2, 4C]
 * @param latentShape [B, C, h, w] after unpacking
 * @param output      what the response carries
 * @param outputBytes memory the response needs while it is built (0 for a streamed PNG)
 */
record DecodeSpec(int[] wireShape, WireDType dtype, int[] latentShape, Output output, WireDType outputDType,
                  Scaling scaling, long bodyBytes, long outputBytes) {

    /** The response kinds of the protocol. */
    enum Output {
        /** {@code output_type=pil}, {@code image/png}, streamed. */
        PNG,
        /** {@code output_type=pil}, {@code image/jpeg}. */
        JPEG,
        /** {@code output_type=pt}: the decoder's output NCHW in [-1, 1], in the request's float dtype. */
        TENSOR,
        /** {@code output_type=pt&partial_postprocess=True}: uint8 NHWC. */
        UINT8
    }

    static DecodeSpec parse(Query q, String accept, ServedModel m, long maxPixels, long budget) {
        Vae vae = m.vae();
        if (!vae.canDecode()) {
            throw new HttpError(400, "model '" + m.name() + "' has no decoder (" + vae.info().architecture() + ")");
        }
        int[] wire = q.shape();
        if (wire == null) {
            throw new HttpError(400, "query parameter 'shape' is missing (the latent's shape, e.g."
                    + " shape=1&shape=4&shape=64&shape=64)");
        }
        WireDType dtype = q.dtype(WireDType.FLOAT32);
        int c = vae.latentChannels(), f = vae.downscale();
        int[] latent = switch (wire.length) {
            case 4 -> wire;
            case 3 -> unpackedShape(q, wire, c, f);
            case 5 -> throw new HttpError(400, "shape " + Arrays.toString(wire) + " is a video latent; model '"
                    + m.name() + "' decodes images ([B, C, h, w])");
            default -> throw new HttpError(400, "shape " + Arrays.toString(wire) + " must be [B, C, h, w] (or a packed"
                    + " FLUX latent [B, seq, 64] with height and width)");
        };
        if (latent[1] != c) {
            throw new HttpError(400, "latent has " + latent[1] + " channels, but model '" + m.name() + "' expects " + c
                    + " (a " + latent[1] + "-channel latent looks like " + Family.guessFromChannels(latent[1]) + ")");
        }
        long pixels = (long) latent[2] * latent[3] * f * f;
        if (pixels > maxPixels) {
            throw new HttpError(413, "latent " + Arrays.toString(latent) + " decodes to " + pixels + " pixels per"
                    + " image, over this server's limit of " + maxPixels);
        }
        long count = 1;
        for (int d : wire) {
            count = Math.multiplyExact(count, d);
        }
        long bodyBytes = count * dtype.bytes;
        Output output = output(q, accept);
        long batch = latent[0];
        long floatImage = 12 * pixels;
        long outputBytes = switch (output) {
            case PNG -> 0;
            case JPEG -> floatImage + 6 * pixels;
            case TENSOR -> batch * pixels * 3 * (4 + (dtype.isFloat() ? dtype.bytes : 4));
            case UINT8 -> floatImage + batch * pixels * 3;
        };
        if (outputBytes > budget / 2 || batch * pixels * 3 * 4 > Integer.MAX_VALUE - 8) {
            throw new HttpError(413, "the " + output.name().toLowerCase(Locale.ROOT) + " response for latent "
                    + Arrays.toString(latent) + " needs " + mib(outputBytes) + " in memory, over half the"
                    + " per-request memory budget of " + mib(budget) + " (a PNG response streams; or decode fewer"
                    + " latents per request)");
        }
        WireDType outType = output == Output.UINT8 ? WireDType.UINT8 : dtype.isFloat() ? dtype : WireDType.FLOAT32;
        return new DecodeSpec(wire, dtype, latent, output, outType, Scaling.of(q), bodyBytes, outputBytes);
    }

    /**
     * A packed FLUX latent [B, (h/2)·(w/2), 4C] with {@code height} and {@code width} in image pixels, as
     * diffusers' FLUX pipeline packs it (h = 2·(height / (2f))).
     */
    private static int[] unpackedShape(Query q, int[] wire, int c, int f) {
        int height = q.positive("height"), width = q.positive("width");
        if (height == 0 || width == 0) {
            throw new HttpError(400, "a 3-D latent " + Arrays.toString(wire) + " is a packed FLUX latent and needs"
                    + " the height and width query parameters (image pixels)");
        }
        int h = 2 * (height / (2 * f)), w = 2 * (width / (2 * f));
        if (h == 0 || w == 0 || (long) (h / 2) * (w / 2) != wire[1] || wire[2] != 4 * c) {
            throw new HttpError(400, "packed latent " + Arrays.toString(wire) + " does not match height " + height
                    + " and width " + width + ": expected [" + wire[0] + ", " + (long) (h / 2) * (w / 2) + ", "
                    + 4 * c + "]");
        }
        return new int[]{wire[0], c, h, w};
    }

    private static Output output(Query q, String accept) {
        String type = q.get("output_type", "pil").toLowerCase(Locale.ROOT);
        return switch (type) {
            case "pt" -> q.bool("partial_postprocess", false) ? Output.UINT8 : Output.TENSOR;
            case "pil" -> {
                String format = q.get("image_format");
                if (format == null || format.isEmpty()) {
                    String a = accept == null ? "" : accept.toLowerCase(Locale.ROOT);
                    format = a.contains("image/png") ? "png" : "jpg";
                }
                yield switch (format.toLowerCase(Locale.ROOT)) {
                    case "png" -> Output.PNG;
                    case "jpg", "jpeg" -> Output.JPEG;
                    default -> throw new HttpError(400, "query parameter 'image_format' must be png or jpg, got '"
                            + format + "'");
                };
            }
            case "mp4", "latent", "np" -> throw new HttpError(400, "output_type '" + type + "' is not served here"
                    + " (pil or pt)");
            default -> throw new HttpError(400, "query parameter 'output_type' must be pil or pt, got '" + type + "'");
        };
    }

    boolean packed() {
        return wireShape.length == 3;
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
