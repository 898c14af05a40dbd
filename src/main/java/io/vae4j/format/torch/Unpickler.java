package io.vae4j.format.torch;

import io.vae4j.VaeException;
import io.vae4j.format.torch.Pickled.Container;
import io.vae4j.format.torch.Pickled.Global;
import io.vae4j.format.torch.Pickled.PDict;
import io.vae4j.format.torch.Pickled.PList;
import io.vae4j.format.torch.Pickled.PSet;
import io.vae4j.format.torch.Pickled.PTuple;
import io.vae4j.format.torch.Pickled.StorageRef;
import io.vae4j.format.torch.Pickled.StorageType;
import io.vae4j.format.torch.Pickled.TensorRef;

import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A restricted interpreter for the pickles torch.save writes (protocol 2, plus the binary opcodes of protocols
 * 3-5). It never imports or runs anything: GLOBAL only resolves names on a small allow-list to inert markers,
 * and REDUCE/NEWOBJ/BUILD are interpreted for those markers alone. Everything a hostile pickle controls (lengths,
 * memo indices, nesting, object counts) is bounded, so a bad file fails with a VaeException instead of exhausting
 * memory or the stack.
 */
final class Unpickler {
    static final int MAX_DEPTH = 1000;
    static final long MAX_OBJECTS = 10_000_000;
    /** Ints in a state dict are small; a multi-kilobyte LONG4 is only good for burning CPU in BigInteger. */
    private static final int MAX_LONG_BYTES = 1024;
    private static final int MAX_GLOBAL_NAME = 1024;

    private static final Set<String> ALLOWED = Set.of(
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_tensor",
            "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_parameter_with_state",
            "torch.Size",
            // Protocol 2 spells Python 3 bytes as _codecs.encode(str, 'latin1'); a pure function of its arguments.
            "_codecs.encode");
    private static final Pattern STORAGE_NAME = Pattern.compile("[A-Za-z0-9_]{1,64}Storage");

    private final byte[] buf;
    private final String label;
    private int pos;
    private List<Object> stack = new ArrayList<>();
    private final ArrayDeque<List<Object>> metastack = new ArrayDeque<>();
    private final HashMap<Long, Object> memo = new HashMap<>();
    private long objects;

    private Unpickler(byte[] buf, String label) {
        this.buf = buf;
        this.label = label;
    }

    /** Interprets a whole pickle; {@code label} starts every error message (the file name). */
    static Object load(byte[] pickle, String label) {
        try {
            return new Unpickler(pickle, label).run();
        } catch (OutOfMemoryError e) {
            // Objects are bounded in number, not in heap; on a small heap the last resort is to fail cleanly.
            // Everything allocated here is unreachable once this frame unwinds.
            throw new VaeException(label + ": data.pkl holds more objects than fit in memory");
        }
    }

    private Object run() {
        while (true) {
            if (pos >= buf.length) {
                throw corrupt("ends without a STOP opcode");
            }
            int op = buf[pos++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto > 5) {
                        throw corrupt("unsupported pickle protocol " + proto);
                    }
                }
                case 0x95 -> need(u64()); // FRAME: framing is only a read-ahead hint
                case '.' -> { // STOP
                    if (!metastack.isEmpty()) {
                        throw corrupt("STOP inside an unclosed MARK");
                    }
                    return pop();
                }
                case '}' -> push(new PDict());
                case ']' -> push(new PList());
                case ')' -> push(tuple(new ArrayList<>()));
                case 0x85, 0x86, 0x87 -> { // TUPLE1..3
                    int n = op - 0x84;
                    List<Object> items = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        items.addFirst(pop());
                    }
                    push(tuple(items));
                }
                case 't' -> push(tuple(popMark()));
                case '(' -> { // MARK
                    if (metastack.size() >= MAX_DEPTH) {
                        throw corrupt("MARKs nested deeper than " + MAX_DEPTH);
                    }
                    metastack.push(stack);
                    stack = new ArrayList<>();
                }
                case '0' -> { // POP: like CPython, an empty stack means the top item is a mark
                    if (stack.isEmpty()) {
                        popMark();
                    } else {
                        stack.removeLast();
                    }
                }
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'q' -> memoPut(u8()); // BINPUT
                case 'r' -> memoPut(u32()); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'h' -> push(memoGet(u8())); // BINGET
                case 'j' -> push(memoGet(u32())); // LONG_BINGET
                case 'J' -> push((long) s32()); // BININT
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push((long) u16()); // BININT2
                case 0x8a -> push(longValue(u8())); // LONG1
                case 0x8b -> { // LONG4
                    int n = s32();
                    if (n < 0) {
                        throw corrupt("negative LONG4 length");
                    }
                    if (n > MAX_LONG_BYTES) {
                        throw corrupt("integer of " + n + " bytes");
                    }
                    push(longValue(n));
                }
                case 'G' -> push(Double.longBitsToDouble(ByteBuffer.wrap(bytes(8)).getLong())); // BINFLOAT, big-endian
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'N' -> push(null);
                case 'X' -> push(utf8(bytes(u32()))); // BINUNICODE
                case 0x8c -> push(utf8(bytes(u8()))); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(bytes(u64()))); // BINUNICODE8
                case 'T' -> { // BINSTRING: a Python 2 str
                    int n = s32();
                    if (n < 0) {
                        throw corrupt("negative BINSTRING length");
                    }
                    push(new String(bytes(n), StandardCharsets.ISO_8859_1));
                }
                case 'U' -> push(new String(bytes(u8()), StandardCharsets.ISO_8859_1)); // SHORT_BINSTRING
                case 'B' -> push(bytes(u32())); // BINBYTES
                case 'C' -> push(bytes(u8())); // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(bytes(u64())); // BINBYTES8, BYTEARRAY8
                case 's' -> { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    put(dictOnTop(), k, v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw corrupt("SETITEMS with an odd number of items");
                    }
                    PDict d = dictOnTop();
                    for (int i = 0; i < items.size(); i += 2) {
                        put(d, items.get(i), items.get(i + 1));
                    }
                }
                case 'a' -> { // APPEND
                    Object v = pop();
                    append(listOnTop(), v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    PList l = listOnTop();
                    for (Object v : items) {
                        append(l, v);
                    }
                }
                case 'd' -> { // DICT
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw corrupt("DICT with an odd number of items");
                    }
                    PDict d = new PDict();
                    for (int i = 0; i < items.size(); i += 2) {
                        put(d, items.get(i), items.get(i + 1));
                    }
                    push(d);
                }
                case 'l' -> { // LIST
                    List<Object> items = popMark();
                    PList l = new PList();
                    for (Object v : items) {
                        append(l, v);
                    }
                    push(l);
                }
                case 0x8f -> push(new PSet()); // EMPTY_SET
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popMark();
                    if (!(peek() instanceof PSet set)) {
                        throw corrupt("ADDITEMS on a " + Pickled.typeName(peek()));
                    }
                    for (Object v : items) {
                        adopt(set, v);
                        set.items.add(v);
                    }
                }
                case 0x91 -> { // FROZENSET
                    PSet set = new PSet();
                    for (Object v : popMark()) {
                        adopt(set, v);
                        set.items.add(v);
                    }
                    push(set);
                }
                case 'c' -> { // GLOBAL
                    String module = line();
                    String name = line();
                    push(global(module, name));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw corrupt("STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 'i' -> { // INST: protocol 0 spelling of GLOBAL + REDUCE
                    Object callable = global(line(), line());
                    push(call(callable, tuple(popMark())));
                }
                case 'o' -> { // OBJ
                    List<Object> items = popMark();
                    if (items.isEmpty()) {
                        throw corrupt("OBJ without a class");
                    }
                    Object cls = items.removeFirst();
                    push(newObject(cls, tuple(items)));
                }
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(call(callable, args));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = pop();
                    Object cls = pop();
                    push(newObject(cls, args));
                }
                case 0x92 -> { // NEWOBJ_EX
                    Object kwargs = pop();
                    Object args = pop();
                    Object cls = pop();
                    if (!(kwargs instanceof PDict kw) || !kw.map.isEmpty()) {
                        throw corrupt("NEWOBJ_EX with keyword arguments");
                    }
                    push(newObject(cls, args));
                }
                case 'b' -> { // BUILD
                    Object state = pop();
                    build(peek(), state);
                }
                case 'Q' -> push(persistentLoad(pop())); // BINPERSID
                default -> throw corrupt(String.format("unsupported pickle opcode 0x%02x%s", op,
                        op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : ""));
            }
        }
    }

    // ---- allow-listed semantics ----

    private Object global(String module, String name) {
        if (module.equals("torch") && STORAGE_NAME.matcher(name).matches()) {
            return new StorageType(name);
        }
        String q = module + "." + name;
        if (!ALLOWED.contains(q)) {
            return new Pickled.Refused(q);
        }
        return new Global(module, name);
    }

    private VaeException refused(Pickled.Refused r) {
        return new VaeException(label + ": refusing pickle global '" + printable(r.qualified())
                + "' (only tensor state dicts are supported)");
    }

    private Object call(Object callable, Object argsObj) {
        if (callable instanceof Pickled.Refused r) {
            throw refused(r);
        }
        if (!(callable instanceof Global g)) {
            throw corrupt("refusing to call a " + Pickled.typeName(callable));
        }
        if (!(argsObj instanceof PTuple args)) {
            throw corrupt("arguments to " + g.qualified() + " are not a tuple");
        }
        switch (g.qualified()) {
            case "collections.OrderedDict" -> {
                if (args.size() == 0) {
                    return new PDict();
                }
                if (args.size() == 1 && args.get(0) instanceof PList pairs) {
                    PDict d = new PDict();
                    for (Object p : pairs.items) {
                        if (!(p instanceof PTuple kv) || kv.size() != 2) {
                            throw corrupt("OrderedDict item is not a pair");
                        }
                        put(d, kv.get(0), kv.get(1));
                    }
                    return d;
                }
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                if (args.size() == 6 || args.size() == 7) {
                    return tensor(args);
                }
            }
            case "torch._utils._rebuild_tensor" -> {
                if (args.size() == 4) {
                    return tensor(args);
                }
            }
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                if ((args.size() == 3 || args.size() == 4) && args.get(0) instanceof TensorRef t) {
                    return t;
                }
            }
            case "torch.Size" -> {
                if (args.size() == 1 && args.get(0) instanceof PTuple dims) {
                    return dims;
                }
            }
            case "_codecs.encode" -> {
                if (args.size() == 2 && args.get(0) instanceof String s
                        && (args.get(1) instanceof String enc) && (enc.equals("latin1") || enc.equals("latin-1"))) {
                    return s.getBytes(StandardCharsets.ISO_8859_1);
                }
            }
            default -> {
            }
        }
        throw corrupt("unexpected arguments to " + g.qualified());
    }

    private Object newObject(Object cls, Object args) {
        if (cls instanceof Pickled.Refused r) {
            throw refused(r);
        }
        if (cls instanceof Global g && g.is("collections", "OrderedDict")
                && args instanceof PTuple t && t.size() == 0) {
            return new PDict();
        }
        throw corrupt("refusing to instantiate a " + Pickled.typeName(cls));
    }

    /** Only OrderedDict instances get state: the state dict's _metadata attribute, which we have no use for. */
    private void build(Object obj, Object state) {
        if (obj instanceof Pickled.Refused r) {
            throw refused(r);
        }
        if (obj instanceof PDict && (state == null || state instanceof PDict
                || state instanceof PTuple t && t.size() == 2)) {
            return;
        }
        throw corrupt("refusing to set state on a " + Pickled.typeName(obj));
    }

    private TensorRef tensor(PTuple args) {
        if (!(args.get(0) instanceof StorageRef storage)) {
            throw corrupt("tensor rebuilt from a " + Pickled.typeName(args.get(0)) + " instead of a storage");
        }
        long offset = nonNegative(args.get(1), "storage offset");
        long[] size = dims(args.get(2), "size");
        long[] stride = dims(args.get(3), "stride");
        if (size.length != stride.length) {
            throw corrupt("tensor size has " + size.length + " dims but stride has " + stride.length);
        }
        return new TensorRef(storage, offset, size, stride);
    }

    private Object persistentLoad(Object pid) {
        if (pid instanceof PTuple t && t.size() == 5 && "storage".equals(t.get(0))
                && t.get(1) instanceof StorageType type && t.get(2) instanceof String key) {
            return new StorageRef(type, key, nonNegative(t.get(4), "storage size"));
        }
        throw corrupt("unsupported persistent id (expected ('storage', type, key, location, numel))");
    }

    private long[] dims(Object o, String what) {
        if (!(o instanceof PTuple t)) {
            throw corrupt("tensor " + what + " is a " + Pickled.typeName(o) + ", not a tuple");
        }
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = nonNegative(t.get(i), what);
        }
        return out;
    }

    private long nonNegative(Object o, String what) {
        if (o instanceof Long l && l >= 0) {
            return l;
        }
        throw corrupt("bad " + what + ": " + (o instanceof Long l ? l : Pickled.typeName(o)));
    }

    // ---- stack, memo and containers ----

    private void push(Object o) {
        if (++objects > MAX_OBJECTS) {
            throw corrupt("more than " + MAX_OBJECTS + " objects");
        }
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw corrupt("stack underflow");
        }
        return stack.removeLast();
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw corrupt("stack underflow");
        }
        return stack.getLast();
    }

    private List<Object> popMark() {
        if (metastack.isEmpty()) {
            throw corrupt("no MARK to pop to");
        }
        List<Object> items = stack;
        stack = metastack.pop();
        return items;
    }

    private void memoPut(long index) {
        if (index >= MAX_OBJECTS) {
            throw corrupt("memo index " + index + " exceeds the limit of " + MAX_OBJECTS);
        }
        memo.put(index, peek());
    }

    private Object memoGet(long index) {
        Object o = memo.get(index);
        if (o == null && !memo.containsKey(index)) {
            throw corrupt("memo index " + index + " is not defined");
        }
        return o;
    }

    private PTuple tuple(List<Object> items) {
        PTuple t = new PTuple(items);
        for (Object o : items) {
            adopt(t, o);
        }
        return t;
    }

    private PDict dictOnTop() {
        if (peek() instanceof PDict d) {
            return d;
        }
        throw corrupt("SETITEM(S) on a " + Pickled.typeName(peek()));
    }

    private PList listOnTop() {
        if (peek() instanceof PList l) {
            return l;
        }
        throw corrupt("APPEND(S) on a " + Pickled.typeName(peek()));
    }

    private void put(PDict d, Object k, Object v) {
        if (k instanceof PList || k instanceof PDict) {
            throw corrupt("unhashable dict key (" + Pickled.typeName(k) + ")");
        }
        adopt(d, k);
        adopt(d, v);
        d.map.put(k, v);
    }

    private void append(PList l, Object v) {
        adopt(l, v);
        l.items.add(v);
    }

    /**
     * Depth is tracked when a child is added, not recomputed: later mutation through the memo can make the true
     * depth larger, which is harmless because nothing here walks the structure recursively. The bound exists so
     * that the obvious deep-nesting pickles are refused early with a clear message.
     */
    private void adopt(Container parent, Object child) {
        int d = child instanceof Container c ? c.depth : 0;
        if (d + 1 > parent.depth) {
            parent.depth = d + 1;
            if (parent.depth > MAX_DEPTH) {
                throw corrupt("objects nested deeper than " + MAX_DEPTH);
            }
        }
    }

    // ---- raw reads ----

    private void need(long n) {
        if (n < 0 || n > buf.length - pos) {
            throw corrupt("truncated (needs " + n + " more bytes, " + (buf.length - pos) + " left)");
        }
    }

    private int u8() {
        need(1);
        return buf[pos++] & 0xff;
    }

    private int u16() {
        need(2);
        int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8;
        pos += 2;
        return v;
    }

    private int s32() {
        need(4);
        int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8 | (buf[pos + 2] & 0xff) << 16 | buf[pos + 3] << 24;
        pos += 4;
        return v;
    }

    private long u32() {
        return s32() & 0xffffffffL;
    }

    /** An 8-byte length; anything that does not fit the remaining input is caught by {@link #need}. */
    private long u64() {
        long lo = u32();
        long hi = u32();
        long v = hi << 32 | lo;
        if (v < 0) {
            throw corrupt("length " + Long.toUnsignedString(v) + " out of range");
        }
        return v;
    }

    private byte[] bytes(long n) {
        need(n);
        byte[] out = new byte[(int) n];
        System.arraycopy(buf, pos, out, 0, out.length);
        pos += out.length;
        return out;
    }

    private Object longValue(int n) {
        if (n == 0) {
            return 0L;
        }
        byte[] le = bytes(n);
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) {
            be[i] = le[n - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private String line() {
        int limit = Math.min(buf.length, pos + MAX_GLOBAL_NAME);
        for (int i = pos; i < limit; i++) {
            if (buf[i] == '\n') {
                String s = utf8(java.util.Arrays.copyOfRange(buf, pos, i));
                pos = i + 1;
                return s;
            }
        }
        throw corrupt("unterminated or overlong GLOBAL name");
    }

    private String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw corrupt("invalid UTF-8 string");
        }
    }

    /** Names go into one-line messages; a hostile pickle must not be able to inject newlines or escapes. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return sb.length() < 200 ? sb.toString() : sb + "...";
    }

    private VaeException corrupt(String what) {
        return new VaeException(label + ": bad data.pkl at byte " + Math.max(pos - 1, 0) + ": " + what);
    }
}
