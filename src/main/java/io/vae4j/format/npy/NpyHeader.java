package io.vae4j.format.npy;

import io.vae4j.VaeException;
import io.vae4j.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The preamble and header of a .npy file: magic, version, header length, and the header itself, a Python dict
 * literal such as {@code {'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 8, 8), }}. The parser accepts
 * exactly that grammar (quoted strings, True/False, integers, tuples of integers) rather than evaluating Python.
 */
record NpyHeader(String descr, int[] shape, long dataOffset, long fileSize) {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy itself refuses headers over 10 000 bytes by default; this leaves room without trusting any length. */
    private static final long MAX_HEADER_BYTES = 1 << 20;

    static NpyHeader read(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 10) {
            throw fail(file, "file is " + size + " bytes, too short for a .npy file");
        }
        ByteBuffer pre = ByteBuffer.allocate((int) Math.min(size, 12)).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, pre, 0);
        for (int i = 0; i < MAGIC.length; i++) {
            if (pre.get(i) != MAGIC[i]) {
                throw fail(file, "not a .npy file (missing the \\x93NUMPY magic)");
            }
        }
        int major = pre.get(6) & 0xff;
        int minor = pre.get(7) & 0xff;
        long headerLen;
        int prefix;
        if (major == 1 && minor == 0) {
            headerLen = pre.getShort(8) & 0xffff;
            prefix = 10;
        } else if ((major == 2 || major == 3) && minor == 0 && size >= 12) {
            headerLen = pre.getInt(8) & 0xffffffffL;
            prefix = 12;
        } else {
            throw fail(file, "unsupported .npy version " + major + "." + minor + " (supported: 1.0, 2.0, 3.0)");
        }
        if (headerLen > MAX_HEADER_BYTES) {
            throw fail(file, "header length " + headerLen + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (prefix + headerLen > size) {
            throw fail(file, "header length " + headerLen + " goes past the end of the " + size + "-byte file");
        }
        ByteBuffer hdr = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hdr, prefix);
        // Versions 1 and 2 store the header as latin-1; version 3 exists only to allow UTF-8.
        String text = major == 3 ? utf8(file, hdr.array()) : new String(hdr.array(), StandardCharsets.ISO_8859_1);
        return fromDict(file, new DictParser(file, text).parse(), prefix + headerLen, size);
    }

    /** Bytes of the data area, checked against what the shape needs at {@code itemSize} bytes per element. */
    long dataBytes(Path file, int itemSize) {
        long need;
        try {
            need = Math.multiplyExact(Tensor.numel(shape), itemSize);
        } catch (ArithmeticException e) {
            throw fail(file, "shape " + pyShape(shape) + " is too large");
        }
        long have = fileSize - dataOffset;
        if (have < need) {
            throw fail(file, "data is " + have + " bytes but shape " + pyShape(shape) + " of '" + descr + "' needs "
                    + need + " (file truncated?)");
        }
        if (have > need) {
            throw fail(file, (have - need) + " unexpected bytes after the data of shape " + pyShape(shape) + " of '"
                    + descr + "'");
        }
        return need;
    }

    private static NpyHeader fromDict(Path file, Map<String, Object> dict, long dataOffset, long size) {
        if (!dict.keySet().equals(Set.of("descr", "fortran_order", "shape"))) {
            throw fail(file, "header must have exactly the keys 'descr', 'fortran_order', 'shape', got "
                    + dict.keySet());
        }
        if (!(dict.get("descr") instanceof String descr)) {
            throw fail(file, "header field 'descr' must be a string such as '<f4', got " + show(dict.get("descr")));
        }
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw fail(file, "header field 'fortran_order' must be True or False, got " + show(dict.get("fortran_order")));
        }
        if (fortran) {
            throw fail(file, "header field 'fortran_order' is True; only C-order arrays are supported"
                    + " (save with np.ascontiguousarray)");
        }
        if (!(dict.get("shape") instanceof long[] dims)) {
            throw fail(file, "header field 'shape' must be a tuple of integers, got " + show(dict.get("shape")));
        }
        int[] shape = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] > Integer.MAX_VALUE) {
                throw fail(file, "header field 'shape' " + Arrays.toString(dims) + " has a dimension over "
                        + Integer.MAX_VALUE);
            }
            shape[i] = (int) dims[i];
        }
        return new NpyHeader(descr, shape, dataOffset, size);
    }

    private static String show(Object v) {
        return switch (v) {
            case long[] tuple -> Arrays.toString(tuple).replace('[', '(').replace(']', ')');
            case String str -> "'" + str + "'";
            case Boolean b -> b ? "True" : "False";
            default -> String.valueOf(v);
        };
    }

    static String pyShape(int[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return sb.append(shape.length == 1 ? ",)" : ")").toString();
    }

    private static String utf8(Path file, byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw fail(file, "version 3 header is not valid UTF-8");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + buf.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    static VaeException fail(Path file, String message) {
        return new VaeException(file + ": " + message);
    }

    /** Values: String, Boolean, Long, long[] (a tuple). */
    private static final class DictParser {
        private final Path file;
        private final String s;
        private int pos;

        DictParser(Path file, String s) {
            this.file = file;
            this.s = s;
        }

        Map<String, Object> parse() {
            Map<String, Object> dict = new LinkedHashMap<>();
            ws();
            expect('{');
            while (true) {
                ws();
                if (peek() == '}') {
                    break;
                }
                int keyAt = pos;
                String key = string();
                ws();
                expect(':');
                ws();
                if (dict.put(key, value()) != null) {
                    throw error("duplicate key '" + key + "'", keyAt);
                }
                ws();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'", pos);
                }
            }
            pos++;
            ws();
            if (pos != s.length()) {
                throw error("unexpected text after the header dict", pos);
            }
            return dict;
        }

        private Object value() {
            char c = peek();
            if (c == '\'' || c == '"') {
                return string();
            }
            if (c == '(') {
                return tuple();
            }
            if (c == '[') {
                throw error("structured (record) dtypes are not supported", pos);
            }
            if (s.startsWith("True", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            if (c >= '0' && c <= '9') {
                return integer();
            }
            throw error("expected a string, True, False, an integer or a tuple", pos);
        }

        private long[] tuple() {
            pos++;
            List<Long> items = new ArrayList<>();
            while (true) {
                ws();
                if (peek() == ')') {
                    break;
                }
                items.add(integer());
                ws();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != ')') {
                    throw error("expected ',' or ')' in tuple", pos);
                }
            }
            pos++;
            return items.stream().mapToLong(Long::longValue).toArray();
        }

        private long integer() {
            int start = pos;
            while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                pos++;
            }
            if (pos == start) {
                throw error("expected a non-negative integer", pos);
            }
            long v;
            try {
                v = Long.parseLong(s.substring(start, pos));
            } catch (NumberFormatException e) {
                throw error("integer too large", start);
            }
            if (peek() == 'L') {
                pos++; // Python 2 era numpy wrote shape entries as 4L
            }
            return v;
        }

        private String string() {
            char q = peek();
            if (q != '\'' && q != '"') {
                throw error("expected a quoted string", pos);
            }
            int start = ++pos;
            while (pos < s.length() && s.charAt(pos) != q) {
                if (s.charAt(pos) == '\\') {
                    throw error("escape sequences are not supported", pos);
                }
                pos++;
            }
            if (pos >= s.length()) {
                throw error("unterminated string", start - 1);
            }
            return s.substring(start, pos++);
        }

        private void expect(char c) {
            if (peek() != c) {
                throw error("expected '" + c + "'", pos);
            }
            pos++;
        }

        private char peek() {
            return pos < s.length() ? s.charAt(pos) : '\0';
        }

        private void ws() {
            while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\n' || s.charAt(pos) == '\t'
                    || s.charAt(pos) == '\r')) {
                pos++;
            }
        }

        private VaeException error(String message, int at) {
            return fail(file, "bad .npy header at offset " + at + ": " + message + " in " + quote(s));
        }

        /** The header inline, so the message stays one line and shows what the writer produced. */
        private static String quote(String header) {
            String t = header.strip().replace("\n", "\\n");
            return t.length() > 200 ? t.substring(0, 200) + "..." : t;
        }
    }
}
