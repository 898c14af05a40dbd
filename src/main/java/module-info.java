/**
 * vae4j: Stable Diffusion image autoencoders on the CPU. {@link io.vae4j.VaeModel} is the library's front door;
 * the Tensor-level API (backends, model loading, tensors, file formats, the decode/encode pipeline and the huge-image
 * layer) is exported for advanced use. The HTTP server needs Helidon and the command line picocli: both optional,
 * so a library user does not inherit them.
 */
module io.vae4j {
    requires transitive java.desktop;
    requires jdk.incubator.vector;
    requires java.management;
    requires static jdk.management;
    requires java.logging;
    requires java.net.http;
    requires static io.helidon.webserver;
    requires static info.picocli;

    exports io.vae4j;
    exports io.vae4j.backend;
    exports io.vae4j.format;
    exports io.vae4j.format.image;
    exports io.vae4j.format.latent;
    exports io.vae4j.format.npy;
    exports io.vae4j.format.safetensors;
    exports io.vae4j.model;
    exports io.vae4j.model.interposer;
    exports io.vae4j.model.preview;
    exports io.vae4j.model.source;
    exports io.vae4j.pipeline;
    exports io.vae4j.server;
    exports io.vae4j.tensor;
    exports io.vae4j.tiles;
    exports io.vae4j.tiles.io;
    exports io.vae4j.tiles.plan;
    exports io.vae4j.util;

    opens io.vae4j.cli to info.picocli;
}
