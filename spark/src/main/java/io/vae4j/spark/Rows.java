package io.vae4j.spark;

import java.util.Iterator;
import java.util.function.Function;

/** A partition's rows mapped one at a time as Spark pulls them, so a task holds one image, not its partition. */
final class Rows {
    private Rows() {
    }

    static <A, B> Iterator<B> map(Iterator<A> in, Function<A, B> f) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return in.hasNext();
            }

            @Override
            public B next() {
                return f.apply(in.next());
            }
        };
    }
}
