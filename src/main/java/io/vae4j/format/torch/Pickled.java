package io.vae4j.format.torch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The inert object model the restricted unpickler builds. Containers use identity equality and hashing on
 * purpose: a pickle can build cycles and arbitrarily deep structures through the memo, and structural
 * equals/hashCode/toString would recurse into them. Scalars are plain Java values: Long or BigInteger, Double,
 * Boolean, String, byte[], and null for None.
 */
final class Pickled {
    private Pickled() {
    }

    /** Something that holds other objects; its depth bounds how deep the pickle may nest. */
    abstract static class Container {
        int depth = 1;
    }

    static final class PList extends Container {
        final List<Object> items = new ArrayList<>();
    }

    static final class PTuple extends Container {
        final List<Object> items;

        PTuple(List<Object> items) {
            this.items = items;
        }

        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }
    }

    static final class PDict extends Container {
        final Map<Object, Object> map = new LinkedHashMap<>();
    }

    /** Sets only appear in unrelated checkpoint metadata; kept as a bag so such pickles still parse. */
    static final class PSet extends Container {
        final List<Object> items = new ArrayList<>();
    }

    /** A reference to an allow-listed global. Holding one executes nothing; only the unpickler interprets it. */
    /**
     * A global outside the allow-list. Merely naming one is harmless (Lightning checkpoints use callback classes as
     * dictionary keys), so it is kept as this inert marker; calling, instantiating or building it is refused.
     */
    record Refused(String qualified) {
    }

    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }

        boolean is(String m, String n) {
            return module.equals(m) && name.equals(n);
        }
    }

    /** A torch storage class such as torch.FloatStorage, used as a type tag in persistent ids. */
    record StorageType(String name) {
        String qualified() {
            return "torch." + name;
        }
    }

    /** What a persistent id ('storage', type, key, location, numel) resolves to: an archive entry data/key. */
    record StorageRef(StorageType type, String key, long numel) {
    }

    /** The arguments of a _rebuild_tensor call, still unresolved against the archive. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
    }

    static String typeName(Object o) {
        return switch (o) {
            case null -> "None";
            case String s -> "str";
            case Long l -> "int";
            case java.math.BigInteger b -> "int";
            case Double d -> "float";
            case Boolean b -> "bool";
            case byte[] b -> "bytes";
            case PList l -> "list";
            case PTuple t -> "tuple";
            case PDict d -> "dict";
            case PSet s -> "set";
            case Global g -> g.qualified();
            case StorageType s -> s.qualified();
            case StorageRef s -> "storage";
            case TensorRef t -> "tensor";
            default -> o.getClass().getSimpleName();
        };
    }
}
