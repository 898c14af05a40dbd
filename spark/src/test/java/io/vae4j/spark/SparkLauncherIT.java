package io.vae4j.spark;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.vae4j.spark.SparkJobsTest.MODEL;
import static io.vae4j.spark.SparkJobsTest.ROOT;
import static io.vae4j.spark.SparkJobsTest.assertClose;
import static io.vae4j.spark.SparkJobsTest.assertPixelsClose;
import static io.vae4j.spark.SparkJobsTest.cli;
import static io.vae4j.spark.SparkJobsTest.npy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * spark/vae4j-spark as a user runs it, a real process in local mode after `package` (the jar and the class path
 * list it builds on first use are there by then): encode, then decode and export, reproduce the CLI; the
 * spark-submit line it prints carries the runtime's flags and ships the model; bad arguments are one line.
 */
class SparkLauncherIT {
    static final Path LAUNCHER = ROOT.resolve("spark/vae4j-spark");

    @TempDir
    Path tmp;

    record Run(int status, String out, String err) {
    }

    Run launch(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(tmp.resolve("out.txt").toFile())
                .redirectError(tmp.resolve("err.txt").toFile());
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("no exit in 300 s: " + String.join(" ", cmd));
        }
        return new Run(p.exitValue(), Files.readString(tmp.resolve("out.txt")),
                Files.readString(tmp.resolve("err.txt")));
    }

    @Test
    void encodeThenDecodeAndExportEqualTheCli() throws Exception {
        Path images = Files.createDirectories(tmp.resolve("images"));
        BufferedImage src = ImageIO.read(ROOT.resolve("examples/astronaut.png").toFile());
        ImageIO.write(src.getSubimage(0, 0, 64, 64), "png", images.resolve("a.png").toFile());
        ImageIO.write(src.getSubimage(40, 40, 96, 64), "png", images.resolve("b.png").toFile());
        Path parquet = tmp.resolve("latents.parquet"), decoded = tmp.resolve("decoded"), exported = tmp.resolve("npy");

        Run encode = launch("--master", "local[2]", "encode", "--model", MODEL.toString(), "--input",
                images.toString(), "--output", parquet.toString());
        assertEquals(0, encode.status(), encode.err());
        String submit = encode.err().lines().filter(l -> l.contains("spark-submit")).findFirst().orElse("");
        String flags = "--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED";
        assertTrue(submit.contains("--files " + MODEL), submit);
        assertTrue(submit.contains("spark.driver.extraJavaOptions=" + flags), submit);
        assertTrue(submit.contains("spark.executor.extraJavaOptions=" + flags), submit);
        assertTrue(submit.contains("--class io.vae4j.spark.Main"), submit);

        Run decode = launch("--master", "local[2]", "decode", "--model", MODEL.toString(), "--input",
                parquet.toString(), "--output", decoded.toString());
        assertEquals(0, decode.status(), decode.err());
        Run export = launch("--master", "local[1]", "export", "--input", parquet.toString(), "--output",
                exported.toString());
        assertEquals(0, export.status(), export.err());

        for (String stem : new String[]{"a", "b"}) {
            Path latent = tmp.resolve("cli-" + stem + ".npy"), png = tmp.resolve("cli-" + stem + ".png");
            cli("encode", "--model", MODEL.toString(), "--image", images.resolve(stem + ".png").toString(), "--out",
                    latent.toString(), "--quiet");
            assertClose(npy(latent), npy(exported.resolve(stem + ".npy")), 1e-5f, stem + ".npy");
            cli("decode", "--model", MODEL.toString(), "--latent", exported.resolve(stem + ".npy").toString(),
                    "--out", png.toString(), "--quiet");
            assertPixelsClose(png, decoded.resolve(stem + ".png"));
        }
    }

    @Test
    void helpAndBadArguments() throws Exception {
        Run help = launch("--help");
        assertEquals(0, help.status(), help.err());
        for (String job : new String[]{"encode", "decode", "export", "decode-huge"}) {
            assertTrue(help.out().contains(job), help.out());
        }
        Run bad = launch("--master", "local[1]", "encode", "--input", tmp.toString());
        assertTrue(bad.status() != 0, "a missing --model fails");
        List<String> vae4jLines = bad.err().lines().filter(l -> l.startsWith("vae4j-spark: ")
                && !l.contains("spark-submit")).toList();
        assertEquals(1, vae4jLines.size(), bad.err());
        assertTrue(vae4jLines.get(0).contains("--model"), bad.err());
        assertTrue(!bad.err().contains("\tat "), "no stack trace: " + bad.err());
    }
}
