package io.vae4j.cli;

import io.vae4j.format.npy.Npy;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The README's table of bad input the CLI refuses, kept true: every row is run here (the input it names, through
 * the CLI) and must give exit status 1 and one line containing the row's quoted text; a row without a case here, or
 * a case without a row, fails.
 */
class BadInputTableTest {
    private static final String MODEL = Path.of("models/taef2.safetensors").toString();
    private static final Pattern ROW = Pattern.compile("^\\| ([^|]+?) \\| `([^`]+)` \\|$");

    @TempDir
    static Path dir;

    private static Map<String, Supplier<CliTest.Result>> cases() {
        Map<String, Supplier<CliTest.Result>> c = new LinkedHashMap<>();
        c.put("a latent file that does not exist", () -> decode(dir.resolve("nothing.npy"), "out.png"));
        c.put("a latent with another family's channel count", () -> decode(latent("four.npy", 4, 8, 0f), "out.png"));
        c.put("a latent with NaN or infinite values", () -> decode(latent("nan.npy", 32, 8, Float.NaN), "out.png"));
        c.put("an empty latent", () -> decode(latent("empty.npy", 32, 0, 0f), "out.png"));
        c.put("a latent that decodes past `--max-pixels`", () -> decode(latent("big.npy", 32, 64, 0f), "out.png",
                "--max-pixels", "4096"));
        c.put("a truncated `.npy`", () -> decode(write("cut.npy", cut(latent("whole.npy", 32, 8, 0f), 100)),
                "out.png"));
        c.put("a `.safetensors` whose header length lies", () -> CliTest.run("decode", "--model",
                write("lying.safetensors", lyingSafetensors()).toString(), "--latent",
                latent("z.npy", 32, 2, 0f).toString(), "--out", dir.resolve("out.png").toString()));
        // os.system("echo"), pickled: GLOBAL, a string, TUPLE1, REDUCE, STOP.
        byte[] evil = "\u0080\u0002cos\nsystem\nX\u0004\u0000\u0000\u0000echo\u0085R."
                .getBytes(StandardCharsets.ISO_8859_1);
        c.put("a PyTorch file whose pickle imports a function", () -> info(write("evil.pth",
                zip("archive/data.pkl", evil, false))));
        c.put("a zip bomb in a PyTorch file", () -> info(write("bomb.pth",
                zip("archive/data.pkl", new byte[64 << 20], true))));
        c.put("a PNG declaring more pixels than `--max-pixels`", () -> encode(write("bomb.png", pngHeader(100_000,
                100_000))));
        c.put("a file that is not an image", () -> encode(write("text.png",
                "not a picture".getBytes(StandardCharsets.US_ASCII))));
        c.put("an output in a directory that does not exist", () -> decode(latent("ok.npy", 32, 2, 0f),
                "missing/out.png"));
        c.put("an output with an unknown extension", () -> decode(latent("ok2.npy", 32, 2, 0f), "out.xyz"));
        return c;
    }

    @TestFactory
    List<DynamicTest> everyRowOfTheReadmeTableIsRefusedAsItSays() throws IOException {
        Map<String, Supplier<CliTest.Result>> cases = cases();
        Map<String, String> rows = readmeRows();
        assertEquals(List.copyOf(cases.keySet()), List.copyOf(rows.keySet()),
                "the README's bad-input table and this test's cases list the same inputs, in the same order");
        List<DynamicTest> tests = new ArrayList<>();
        rows.forEach((input, says) -> tests.add(DynamicTest.dynamicTest(input, () -> {
            CliTest.Result r = cases.get(input).get();
            assertEquals(1, r.status(), r.err());
            List<String> lines = r.err().lines().filter(l -> l.startsWith("vae4j: error:")).toList();
            assertEquals(1, lines.size(), r.err());
            assertTrue(lines.getFirst().contains(says), () -> "'" + says + "' in: " + lines.getFirst());
            assertFalse(r.err().contains("\tat "), r.err());
            assertFalse(Files.exists(dir.resolve("out.png")), "no output");
        })));
        return tests;
    }

    /** The rows of the table under the "Bad input the CLI refuses" paragraph: input to the text its line holds. */
    private static Map<String, String> readmeRows() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("README.md"));
        Map<String, String> rows = new LinkedHashMap<>();
        int at = lines.indexOf("| bad input | the one line says |");
        if (at < 0) {
            fail("README.md has no '| bad input | the one line says |' table");
        }
        for (int i = at + 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
            Matcher m = ROW.matcher(lines.get(i));
            assertTrue(m.matches(), () -> "a row of the bad-input table reads: | input | `text` |, got " + m);
            rows.put(m.group(1), m.group(2));
        }
        return rows;
    }

    private static CliTest.Result decode(Path latent, String out, String... more) {
        List<String> args = new ArrayList<>(List.of("decode", "--model", MODEL, "--latent", latent.toString(),
                "--out", dir.resolve(out).toString(), "--quiet"));
        args.addAll(List.of(more));
        return CliTest.run(args.toArray(String[]::new));
    }

    private static CliTest.Result encode(Path image) {
        return CliTest.run("encode", "--model", MODEL, "--image", image.toString(), "--out",
                dir.resolve("out.npy").toString(), "--quiet");
    }

    private static CliTest.Result info(Path model) {
        return CliTest.run("info", model.toString());
    }

    private static Path latent(String name, int channels, int side, float fill) {
        float[] v = new float[channels * side * side];
        java.util.Arrays.fill(v, fill == 0f ? 0.25f : fill);
        Path file = dir.resolve(name);
        try (Tensor t = Tensor.of(v, 1, channels, side, side)) {
            Npy.write(file, t);
        }
        return file;
    }

    private static byte[] cut(Path file, int bytes) {
        try {
            byte[] b = Files.readAllBytes(file);
            return java.util.Arrays.copyOf(b, b.length - bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Path write(String name, byte[] bytes) {
        try {
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] lyingSafetensors() {
        return ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN).putLong(1_000_000).put((byte) '{')
                .put((byte) '}').array();
    }

    private static byte[] zip(String name, byte[] data, boolean deflate) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            ZipEntry e = new ZipEntry(name);
            if (!deflate) {
                CRC32 crc = new CRC32();
                crc.update(data);
                e.setMethod(ZipEntry.STORED);
                e.setSize(data.length);
                e.setCrc(crc.getValue());
            }
            z.putNextEntry(e);
            z.write(data);
            z.closeEntry();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A PNG whose header declares {@code width x height} and whose data is a few hundred bytes of zeros. */
    private static byte[] pngHeader(int width, int height) {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(png, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0).array());
        java.util.zip.Deflater d = new java.util.zip.Deflater();
        d.setInput(new byte[1000]);
        d.finish();
        byte[] idat = new byte[100];
        chunk(png, "IDAT", java.util.Arrays.copyOf(idat, d.deflate(idat)));
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream png, String type, byte[] data) {
        byte[] typed = ByteBuffer.allocate(4 + data.length).put(type.getBytes(StandardCharsets.US_ASCII)).put(data)
                .array();
        CRC32 crc = new CRC32();
        crc.update(typed);
        png.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        png.writeBytes(typed);
        png.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
