package io.vae4j.format.json;

import io.vae4j.VaeException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {

    @Test
    void parsesEveryValueType() {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, 1e3, -0.25E-2, true, false, null], \"b\": {\"c\": \"d\"},"
                + " \"e\": \"\"} ");
        Map<?, ?> m = assertInstanceOf(LinkedHashMap.class, v);
        List<?> a = assertInstanceOf(ArrayList.class, m.get("a"));
        assertEquals(List.of(1L, -2L, 3.5, 1000.0, -0.0025, true, false), a.subList(0, 7));
        assertNull(a.get(7));
        assertEquals(Map.of("c", "d"), m.get("b"));
        assertEquals("", m.get("e"));
        assertEquals(List.of("a", "b", "e"), List.copyOf(m.keySet()));
    }

    @Test
    void keepsKeyOrder() {
        Map<?, ?> m = (Map<?, ?>) Json.parse("{\"z\":1,\"a\":2,\"m\":3}");
        assertEquals(List.of("z", "a", "m"), List.copyOf(m.keySet()));
    }

    @Test
    void integersThatDoNotFitBecomeDoubles() {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(9.223372036854775808E18, Json.parse("9223372036854775808"));
        assertEquals(0L, Json.parse("-0"));
    }

    @Test
    void decodesEscapes() {
        assertEquals("a\"b\\c/d\b\f\n\r\t\u00e9\uD83D\uDE00",
                Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00E9\\ud83d\\ude00\""));
        assertEquals("caf\u00e9 \uD83D\uDE00", Json.parse("\"caf\u00e9 \uD83D\uDE00\""));
    }

    @Test
    void rejectsMalformedInputWithOffset() {
        bad("", 0, "end of input");
        bad("   ", 3, "end of input");
        bad("{\"a\":1} x", 8, "after the JSON value");
        bad("[1,]", 3, "expected a value");
        bad("{\"a\":1,}", 7, "expected a string key");
        bad("{'a':1}", 1, "expected a string key");
        bad("{\"a\" 1}", 5, "expected ':'");
        bad("[1 2]", 3, "expected ',' or ']'");
        bad("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'");
        bad("\"abc", 4, "unterminated string");
        bad("\"a\nb\"", 2, "control character");
        bad("\"\\x\"", 1, "invalid escape");
        bad("\"\\u12g4\"", 1, "invalid \\u escape");
        bad("\"\\u12", 1, "truncated \\u escape");
        bad("01", 1, "after the JSON value");
        bad("-", 1, "expected a digit");
        bad("1.", 2, "after '.'");
        bad("1e+", 3, "exponent");
        bad(".5", 0, "expected a value");
        bad("+1", 0, "expected a value");
        bad("NaN", 0, "expected a value");
        bad("tru", 0, "expected a value");
        bad("nul", 0, "expected a value");
        bad("{\"a\":1,\"a\":2}", 7, "duplicate key \"a\"");
        // Input characters quoted in a message are escaped: the message stays one line (found by JsonFuzzTest).
        bad("\"\\\n\"", 1, "invalid escape \\(U+000A)");
        bad("{\"a\\nb\":1,\"a\\nb\":2}", 10, "duplicate key \"a\\nb\"");
    }

    @Test
    void jsonExceptionIsAVaeException() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("[1,"));
        assertInstanceOf(VaeException.class, e);
        assertTrue(e.getMessage().endsWith("at offset 3"), e.getMessage());
        assertEquals(3, e.offset());
    }

    @Test
    void boundsNestingDepth() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertInstanceOf(List.class, Json.parse(ok));
        bad("[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1), Json.MAX_DEPTH, "nesting deeper");
        bad("{\"a\":".repeat(Json.MAX_DEPTH + 1), 5 * Json.MAX_DEPTH, "nesting deeper");
        // Hostile input far deeper than the stack could recurse must fail cleanly, not with StackOverflowError.
        assertThrows(JsonException.class, () -> Json.parse("[".repeat(1_000_000)));
    }

    @Test
    void writesCompactJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "x");
        m.put("i", 3);
        m.put("l", -4L);
        m.put("d", 0.5);
        m.put("f", 0.1f);
        m.put("b", true);
        m.put("n", null);
        m.put("list", List.of(1, "two"));
        m.put("ints", new int[] {1, 4, 8});
        m.put("longs", new long[] {0, 16});
        m.put("empty", Map.of());
        assertEquals("{\"s\":\"x\",\"i\":3,\"l\":-4,\"d\":0.5,\"f\":0.1,\"b\":true,\"n\":null,\"list\":[1,\"two\"],"
                + "\"ints\":[1,4,8],\"longs\":[0,16],\"empty\":{}}", Json.write(m));
    }

    @Test
    void escapesStringsSoTheyReadBack() {
        StringBuilder all = new StringBuilder("quote\" backslash\\ slash/ ");
        for (char c = 0; c < 0x20; c++) {
            all.append(c);
        }
        all.append("\u007f \u00e9 \u2028 \u2029 \uD83D\uDE00");
        String s = all.toString();
        String json = Json.write(s);
        for (int i = 0; i < json.length(); i++) {
            assertTrue(json.charAt(i) >= 0x20, "raw control character in " + json);
        }
        assertTrue(json.contains("\\u2028"), json);
        assertEquals(s, Json.parse(json));
        assertEquals("\"a\\\"b\\\\c\\n\\u0001\"", Json.write("a\"b\\c\n\u0001"));
    }

    @Test
    void roundTripsNestedValues() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("shape", List.of(1L, 4L, 8L, 8L));
        m.put("x", List.of(1.5, -2.25e-30, 1.0E300, Map.of("k", List.of())));
        m.put("t", false);
        assertEquals(m, Json.parse(Json.write(m)));
        assertEquals(2.0, Json.parse(Json.write(2.0)));
        assertEquals(-0.0, Json.parse(Json.write(-0.0)));
    }

    @Test
    void refusesValuesJsonCannotHold() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Float.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, "x")));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
        List<Object> cycle = new ArrayList<>();
        cycle.add(cycle);
        assertThrows(IllegalArgumentException.class, () -> Json.write(cycle));
    }

    private static void bad(String text, int offset, String fragment) {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(text), () -> "accepted " + text);
        assertTrue(e.getMessage().contains(fragment), () -> text + ": " + e.getMessage());
        assertEquals(offset, e.offset(), () -> text + ": " + e.getMessage());
    }
}
