package io.vae4j.server;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;
import io.vae4j.VaeException;
import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.ImageRange;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.pipeline.LatentMismatch;
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Latents.FloatUnaryOperator;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.StreamingPngWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The remote-VAE protocol of diffusers' {@code remote_decode} / {@code remote_encode}: what a decode or encode
 * request's query and body mean and what its response holds. Float images on the wire are in [-1, 1] for every
 * model (TAESD's [0, 1] is mapped to 2x - 1, as diffusers' AutoencoderTiny returns it); 8-bit and PNG/JPEG outputs
 * are the true image.
 */
final class RemoteVae {
    /** zlib level of streamed PNG responses: level 1 writes 3-4x faster than the file writer's 4 (README). */
    private static final int PNG_LEVEL = 1;
    /** JPEG quality of {@code image_format=jpg} responses: PIL's default. */
    private static final float JPEG_QUALITY = 0.75f;

    private final ServerConfig config;
    /** Where the pipeline's decisions go (untiled, exact or fast, and why): the server's log. */
    private final Consumer<String> log;
    /** Models whose clients were warned of a latent from another family. */
    private final Set<String> mismatchWarned = ConcurrentHashMap.newKeySet();

    RemoteVae(ServerConfig config, Consumer<String> log) {
        this.config = config;
        this.log = log;
    }

    /** A request checked against its query; the body comes next, then the work. */
    interface Prepared {
        /** Refuses a declared Content-Length (-1: none) that cannot be right, before the body is read. */
        void checkDeclaredLength(long declared);

        long maxBodyBytes();

        void checkBody(byte[] body);

        /** Computes and writes the response, claiming it first. */
        void run(byte[] body, ServerResponse res, AtomicBoolean claim) throws IOException;
    }

    private Pipeline pipeline(long memory) {
        return new Pipeline(Pipeline.Options.auto(Math.max(memory, 1), log).withScratch(config.scratch()));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Decode

    Prepared prepareDecode(Query q, String accept, ServedModel m) {
        DecodeSpec spec = DecodeSpec.parse(q, accept, m, config.maxPixels(), config.requestBudget());
        return new Prepared() {
            @Override
            public void checkDeclaredLength(long declared) {
                if (declared > spec.bodyBytes()) {
                    throw new HttpError(413, "request body of " + declared + " bytes is larger than shape "
                            + Arrays.toString(spec.wireShape()) + " of " + spec.dtype().id + " implies ("
                            + spec.bodyBytes() + ")");
                }
            }

            @Override
            public long maxBodyBytes() {
                return spec.bodyBytes();
            }

            @Override
            public void checkBody(byte[] body) {
                if (body.length != spec.bodyBytes()) {
                    throw new HttpError(400, "request body has " + body.length + " bytes, but shape "
                            + Arrays.toString(spec.wireShape()) + " of " + spec.dtype().id + " needs "
                            + spec.bodyBytes());
                }
            }

            @Override
            public void run(byte[] body, ServerResponse res, AtomicBoolean claim) throws IOException {
                decode(spec, m, body, res, claim);
            }
        };
    }

    private void decode(DecodeSpec spec, ServedModel m, byte[] body, ServerResponse res, AtomicBoolean claim)
            throws IOException {
        Vae vae = m.vae();
        try (Tensor z = latent(spec, m, body)) {
            warnOfMismatch(m, z);
            Pipeline p = pipeline(config.requestBudget() - spec.outputBytes());
            int n = z.dim(0), h = z.dim(2) * vae.downscale(), w = z.dim(3) * vae.downscale();
            PixelRange range = Pipeline.pixelRange(vae);
            switch (spec.output()) {
                case PNG -> {
                    // One image per response, as the reference server answers a pil request: the first latent's.
                    try (Tensor z1 = z.slice0(0, 1)) {
                        if (p.tiledDecode(vae, z1, true)) {
                            OutputStream out = respond(res, claim, "image/png");
                            p.decodeTiled(vae, z1, png(out, w, h));
                            out.close();
                        } else {
                            try (Tensor image = p.decodeUntiled(vae, z1, 1)) {
                                OutputStream out = respond(res, claim, "image/png");
                                StreamingPngWriter writer = png(out, w, h);
                                writer.writeRows(image, range);
                                writer.close();
                                out.close();
                            }
                        }
                    }
                }
                case JPEG -> {
                    ByteArrayOutputStream jpeg = new ByteArrayOutputStream(1 << 16);
                    try (Tensor z1 = z.slice0(0, 1); Tensor image = p.decodeWhole(vae, z1)) {
                        Images.writeJpeg(jpeg, image, range, 0, JPEG_QUALITY);
                    }
                    claim(claim);
                    res.header(HeaderNames.CONTENT_TYPE, "image/jpeg");
                    res.send(jpeg.toByteArray());
                }
                case TENSOR, UINT8 -> {
                    boolean uint8 = spec.output() == DecodeSpec.Output.UINT8;
                    long per = 3L * h * w;
                    byte[] out = new byte[(int) (n * per * spec.outputDType().bytes)];
                    for (int i = 0; i < n; i++) {
                        try (Tensor zi = z.slice0(i, 1); Tensor image = p.decodeWhole(vae, zi)) {
                            if (uint8) {
                                toNhwc(image, range, out, (int) (i * per));
                            } else {
                                if (vae.imageRange() == ImageRange.ZERO_ONE) {
                                    Latents.mapInPlace(image, x -> 2 * x - 1);
                                }
                                byte[] b = spec.outputDType().write(image);
                                System.arraycopy(b, 0, out, (int) (i * per * spec.outputDType().bytes), b.length);
                            }
                        }
                    }
                    int[] shape = uint8 ? new int[]{n, h, w, 3} : new int[]{n, 3, h, w};
                    sendTensor(res, claim, out, shape, spec.outputDType());
                }
            }
        }
    }

    /** A latent that looks like another family's than the model's is logged, once per model. */
    private void warnOfMismatch(ServedModel m, Tensor z) {
        if (!mismatchWarned.contains(m.name())) {
            String mismatch = LatentMismatch.check(m.vae().latentSpace(), z);
            if (mismatch != null && mismatchWarned.add(m.name())) {
                log.accept("warning: model '" + m.name() + "': " + mismatch + " (said once per model)");
            }
        }
    }

    /** The request's latent as the model takes it: unpacked, checked for NaN/Inf, scaled per the query. */
    private static Tensor latent(DecodeSpec spec, ServedModel m, byte[] body) {
        Tensor wire = spec.dtype().read(body, spec.wireShape());
        Tensor z = wire;
        try {
            if (spec.packed()) {
                z = unpack(wire, spec.latentShape());
                wire.close();
            }
            long bad = Limits.countNonFinite(z);
            if (bad > 0) {
                throw new HttpError(400, "latent has " + bad + " NaN or infinite value(s) out of " + z.numel());
            }
            FloatUnaryOperator f = spec.scaling().decodeInput(m);
            if (f != null) {
                Latents.mapInPlace(z, f);
            }
            return z;
        } catch (RuntimeException e) {
            z.close();
            wire.close();
            throw e;
        }
    }

    /**
     * A packed FLUX latent [B, (h/2)·(w/2), 4C] unpacked to [B, C, h, w]: packed[b][i·(w/2) + j][c·4 + dy·2 + dx] is
     * the latent's [b][c][2i + dy][2j + dx], as diffusers' FLUX pipeline packs it.
     */
    static Tensor unpack(Tensor packed, int[] shape) {
        int b = shape[0], c = shape[1], h = shape[2], w = shape[3];
        Tensor out = Tensor.allocate(DType.F32, shape);
        MemorySegment in = packed.data(), o = out.data();
        int hw2 = (h / 2) * (w / 2);
        for (int n = 0; n < b; n++) {
            for (int i = 0; i < h / 2; i++) {
                for (int j = 0; j < w / 2; j++) {
                    long src = ((long) n * hw2 + (long) i * (w / 2) + j) * 4L * c;
                    for (int ch = 0; ch < c; ch++) {
                        for (int d = 0; d < 4; d++) {
                            int y = 2 * i + d / 2, x = 2 * j + d % 2;
                            long dst = (((long) n * c + ch) * h + y) * w + x;
                            o.setAtIndex(DType.FLOAT, dst, in.getAtIndex(DType.FLOAT, src + ch * 4L + d));
                        }
                    }
                }
            }
        }
        return out;
    }

    private static StreamingPngWriter png(OutputStream out, int w, int h) {
        return StreamingPngWriter.open(out, "the response", w, h, 8, PNG_LEVEL, StreamingPngWriter.DEFAULT_FILTER);
    }

    /** uint8 NHWC: round(clamp((x + 1) / 2, 0, 1) · 255), PIL's and diffusers' 8-bit image. */
    private static void toNhwc(Tensor image, PixelRange range, byte[] out, int at) {
        int h = image.dim(2), w = image.dim(3);
        long plane = (long) h * w;
        MemorySegment s = image.data();
        for (long p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                out[at++] = (byte) range.encode(s.getAtIndex(DType.FLOAT, c * plane + p));
            }
        }
    }

    private static void claim(AtomicBoolean claim) {
        if (!claim.compareAndSet(false, true)) {
            throw new HttpError(503, "request timed out");
        }
    }

    private static OutputStream respond(ServerResponse res, AtomicBoolean claim, String type) {
        claim(claim);
        res.header(HeaderNames.CONTENT_TYPE, type);
        return res.outputStream();
    }

    private static void sendTensor(ServerResponse res, AtomicBoolean claim, byte[] body, int[] shape, WireDType dtype) {
        claim(claim);
        res.header(HeaderNames.CONTENT_TYPE, "tensor/binary");
        res.header("shape", Arrays.stream(shape).mapToObj(Integer::toString)
                .collect(Collectors.joining(", ", "[", "]")));
        res.header("dtype", dtype.id);
        res.send(body);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Encode

    Prepared prepareEncode(Query q, ServedModel m) {
        Vae vae = m.vae();
        if (!vae.canEncode()) {
            throw new HttpError(400, "model '" + m.name() + "' has no encoder (" + vae.info().architecture() + ")");
        }
        Scaling scaling = Scaling.of(q);
        int[] shape = q.shape();
        WireDType dtype = q.dtype(WireDType.FLOAT32);
        long tensorBytes = shape == null ? -1 : tensorBytes(shape, dtype, vae);
        long max = shape == null ? config.maxBody() : tensorBytes;
        return new Prepared() {
            @Override
            public void checkDeclaredLength(long declared) {
                if (declared > max) {
                    throw new HttpError(413, "request body of " + declared + " bytes is larger than "
                            + (shape == null ? "this server takes for an image (" + max + ")"
                            : "shape " + Arrays.toString(shape) + " of " + dtype.id + " implies (" + max + ")"));
                }
            }

            @Override
            public long maxBodyBytes() {
                return max;
            }

            @Override
            public void checkBody(byte[] body) {
                if (shape != null && body.length != tensorBytes) {
                    throw new HttpError(400, "request body has " + body.length + " bytes, but shape "
                            + Arrays.toString(shape) + " of " + dtype.id + " needs " + tensorBytes);
                }
                if (shape == null) {
                    if (!Images.looksLikeImage(body)) {
                        throw new HttpError(415, body.length == 0 ? "request body is empty (expected a PNG or JPEG"
                                + " image, or a tensor with shape and dtype)" : "request body is not an image (PNG,"
                                + " JPEG, ...); send an image, or a tensor with the shape and dtype query parameters");
                    }
                    int[] size = dimensions(body);
                    if ((long) size[0] * size[1] > config.maxPixels()) {
                        throw new HttpError(413, "image of " + size[0] + "x" + size[1] + " pixels is over this"
                                + " server's limit of " + config.maxPixels() + " pixels");
                    }
                }
            }

            @Override
            public void run(byte[] body, ServerResponse res, AtomicBoolean claim) throws IOException {
                encode(m, scaling, shape, dtype, body, res, claim);
            }
        };
    }

    /** The bytes of an image tensor [N, 3, H, W] (or [3, H, W]) in [-1, 1], checked against the limits. */
    private long tensorBytes(int[] shape, WireDType dtype, Vae vae) {
        if ((shape.length != 4 && shape.length != 3) || shape[shape.length - 3] != 3) {
            throw new HttpError(400, "image tensor shape " + Arrays.toString(shape) + " must be [N, 3, H, W] or"
                    + " [3, H, W]");
        }
        long h = shape[shape.length - 2], w = shape[shape.length - 1];
        if (h * w > config.maxPixels()) {
            throw new HttpError(413, "image of " + h * w + " pixels is over this server's limit of "
                    + config.maxPixels());
        }
        long count = 1;
        for (int d : shape) {
            count = Math.multiplyExact(count, d);
        }
        if (count * 4 > config.requestBudget() / 2 || count * dtype.bytes > Integer.MAX_VALUE - 8) {
            throw new HttpError(413, "image tensor " + Arrays.toString(shape) + " needs "
                    + DecodeSpec.mib(count * 4) + " as float32, over half the per-request memory budget of "
                    + DecodeSpec.mib(config.requestBudget()));
        }
        return count * dtype.bytes;
    }

    private void encode(ServedModel m, Scaling scaling, int[] shape, WireDType dtype, byte[] body,
                        ServerResponse res, AtomicBoolean claim) throws IOException {
        Vae vae = m.vae();
        Pipeline p = pipeline(config.requestBudget());
        Tensor mean;
        if (shape == null && Images.looksLikePng(body) && !fits(p, vae, body)) {
            mean = p.encodeStaged(vae, "request body", png -> Files.write(png, body), config.maxPixels());
        } else {
            try (Tensor image = shape != null ? imageTensor(body, shape, dtype, vae) : readImage(body, vae)) {
                try {
                    Limits.checkImage("request body", image, vae, config.maxPixels());
                } catch (VaeException e) {
                    throw new HttpError(400, e.getMessage());
                }
                if (vae.decodeActivationBytes(image.dim(2), image.dim(3)) * image.dim(0) > config.requestBudget()) {
                    throw new HttpError(413, "encoding " + Arrays.toString(image.shape()) + " untiled needs more"
                            + " than the per-request memory budget of " + DecodeSpec.mib(config.requestBudget())
                            + " (a single PNG image is encoded tiled)");
                }
                try (Moments moments = p.encodeUntiled(vae, image)) {
                    mean = moments.mean().copyF32();
                }
            }
        }
        try (mean) {
            FloatUnaryOperator f = scaling.encodeOutput(m);
            if (f != null) {
                Latents.mapInPlace(mean, f);
            }
            WireDType out = shape != null && dtype.isFloat() ? dtype : WireDType.FLOAT32;
            sendTensor(res, claim, out.write(mean), mean.shape(), out);
        }
    }

    private static boolean fits(Pipeline p, Vae vae, byte[] body) {
        int[] size = dimensions(body);
        return p.encodeFits(vae, size[1], size[0]);
    }

    /** The width and height an image body declares; a header no reader understands is a 400. */
    private static int[] dimensions(byte[] body) {
        try {
            return Images.dimensions(body, "request body");
        } catch (VaeException e) {
            throw new HttpError(400, e.getMessage());
        }
    }

    private Tensor readImage(byte[] body, Vae vae) {
        try {
            return Images.read(body, "request body", Pipeline.pixelRange(vae), config.maxPixels());
        } catch (Images.TooLarge e) {
            throw new HttpError(413, e.getMessage());
        } catch (VaeException e) {
            throw new HttpError(400, e.getMessage());
        }
    }

    /** An image tensor from the wire ([-1, 1]; uint8 as 0-255 pixels) in the model's range, [N, 3, H, W]. */
    private static Tensor imageTensor(byte[] body, int[] shape, WireDType dtype, Vae vae) {
        int[] s4 = shape.length == 4 ? shape : new int[]{1, shape[0], shape[1], shape[2]};
        Tensor t = dtype.read(body, s4);
        long bad = Limits.countNonFinite(t);
        if (bad > 0) {
            t.close();
            throw new HttpError(400, "image tensor has " + bad + " NaN or infinite value(s)");
        }
        boolean zeroOne = vae.imageRange() == ImageRange.ZERO_ONE;
        if (dtype == WireDType.UINT8) {
            Latents.mapInPlace(t, zeroOne ? v -> v / 255f : v -> 2f * (v / 255f) - 1f);
        } else if (zeroOne) {
            Latents.mapInPlace(t, v -> (v + 1) / 2);
        }
        return t;
    }
}
