package io.vae4j.model;

import io.vae4j.Conformance;
import io.vae4j.backend.Random4;
import io.vae4j.format.json.Json;
import io.vae4j.format.npy.Npy;
import io.vae4j.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads the conformance manifests and compares outputs at the tolerance each output states. */
public final class Fixtures {
    private Fixtures() {
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> manifest(Path caseDir) {
        try {
            return (Map<String, Object>) Json.parse(Files.readString(caseDir.resolve("manifest.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> tests(Map<String, Object> manifest) {
        return (List<Map<String, Object>>) manifest.get("tests");
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Map<String, Object>> section(Map<String, Object> test, String key) {
        return (Map<String, Map<String, Object>>) test.get(key);
    }

    public static Path caseDir(String name) {
        return Conformance.dirOrSkip().resolve(name);
    }

    public static Tensor input(Path caseDir, Map<String, Object> test, String name) {
        return Npy.read(caseDir.resolve((String) section(test, "inputs").get(name).get("file")));
    }

    /** Asserts |actual - expected| <= recommended_atol for the named output, and prints the margin. */
    public static void assertOutput(Path caseDir, Map<String, Object> test, String output, Tensor actual,
                                    String label) {
        Map<String, Object> spec = section(test, "outputs").get(output);
        double atol = ((Number) spec.get("recommended_atol")).doubleValue();
        try (Tensor expected = Npy.read(caseDir.resolve((String) spec.get("file")))) {
            assertArrayEquals(expected.shape(), actual.shape(), label + " " + output + " shape");
            float diff = Random4.maxAbsDiff(expected, actual);
            System.out.printf("%-55s %-9s max|diff| %.2e (atol %.0e)%n", label, output, diff, atol);
            assertTrue(diff <= atol, label + " " + output + ": max abs diff " + diff + " > atol " + atol);
        }
    }
}
