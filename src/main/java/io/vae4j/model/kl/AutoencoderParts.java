package io.vae4j.model.kl;

import io.vae4j.backend.Backend;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.Layer;
import io.vae4j.model.nn.Sequential;
import io.vae4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.SequencedMap;

/**
 * The four parts of an ldm autoencoder around its bottleneck, any of which may be missing: encoder, quant_conv,
 * post_quant_conv, decoder. The KL and VQ autoencoders differ only in what they do between quant_conv and
 * post_quant_conv (a posterior, a codebook), so both run their halves through this.
 */
public record AutoencoderParts(Sequential encoder, Conv quantConv, Conv postQuantConv, Sequential decoder)
        implements AutoCloseable {

    /** quant_conv(encoder(image)) in NCHW; the encoder must be there. */
    public Tensor encode(Backend backend, Tensor image) {
        if (quantConv == null) {
            return backend.toNchwConsuming(encoder.forward(backend, image));
        }
        try (Tensor h = encoder.forward(backend, image)) {
            return backend.toNchwConsuming(quantConv.forward(backend, h));
        }
    }

    /** decoder(post_quant_conv(z)) in NCHW; the decoder must be there. */
    public Tensor decode(Backend backend, Tensor z) {
        if (postQuantConv == null) {
            return backend.toNchwConsuming(decoder.forward(backend, z));
        }
        try (Tensor h = postQuantConv.forward(backend, z)) {
            return backend.toNchwConsuming(decoder.forward(backend, h));
        }
    }

    public long decodeMacs(int[] latentShape) {
        if (decoder == null) {
            return 0;
        }
        return (postQuantConv == null ? 0 : postQuantConv.macs(latentShape)) + decoder.macs(latentShape);
    }

    public long encodeMacs(int[] imageShape) {
        if (encoder == null) {
            return 0;
        }
        return encoder.macs(imageShape) + (quantConv == null ? 0 : quantConv.macs(encoder.outShape(imageShape)));
    }

    /**
     * Weight count per part present, in graph order, with {@code bottleneck} (a part of the caller's own, such as a
     * codebook) between quant_conv and post_quant_conv when given.
     */
    public SequencedMap<String, Long> parameters(String bottleneck, long bottleneckParameters) {
        SequencedMap<String, Long> params = new LinkedHashMap<>();
        if (encoder != null) {
            params.put("encoder", encoder.parameters());
        }
        if (quantConv != null) {
            params.put("quant_conv", quantConv.parameters());
        }
        if (bottleneck != null) {
            params.put(bottleneck, bottleneckParameters);
        }
        if (postQuantConv != null) {
            params.put("post_quant_conv", postQuantConv.parameters());
        }
        if (decoder != null) {
            params.put("decoder", decoder.parameters());
        }
        return params;
    }

    @Override
    public void close() {
        for (Layer part : new Layer[]{encoder, quantConv, postQuantConv, decoder}) {
            if (part != null) {
                part.close();
            }
        }
    }
}
