package io.vae4j.backend.onednn.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The one place where these bindings depart from what jextract generates: jextract's header class loads its
 * library in a static initialiser and fails when it is absent, while vae4j must run (on its Java backend) on
 * machines without oneDNN. So the library is looked up under each of a few names, the first that loads wins, and
 * when none does every symbol lookup comes back empty and {@link #loaded()} is false.
 */
public final class NativeLibrary {
    static {
        preferPassiveOpenMpWaits();
    }

    private final String name;
    private final String failure;
    private final SymbolLookup lookup;

    private NativeLibrary(String name, String failure, SymbolLookup lookup) {
        this.name = name;
        this.failure = failure;
        this.lookup = lookup;
    }

    /** Loads the first of {@code names} that the dynamic linker finds; it stays loaded for the life of the JVM. */
    public static NativeLibrary load(String... names) {
        StringBuilder why = new StringBuilder();
        for (String n : names) {
            try {
                return new NativeLibrary(n, null, SymbolLookup.libraryLookup(n, Arena.global()));
            } catch (IllegalArgumentException | IllegalCallerException e) {
                why.append(why.isEmpty() ? "" : "; ").append(n).append(": ").append(e.getMessage());
            }
        }
        return new NativeLibrary(null, why.toString(), symbol -> Optional.empty());
    }

    /**
     * Sets OMP_WAIT_POLICY=passive in the C environment, unless the user has set it, before the first library
     * here loads (libgomp reads it once, when it is loaded). By default libgomp's threads spin for a while after
     * each parallel region; the bf16 path alternates short oneDNN matmuls with Java-threaded Winograd transforms,
     * and the spinning OpenMP thread took the core the Java workers needed (a 512x512 bf16 decode measured 14.0 s
     * spinning, against 6.0 s for float32).
     */
    private static void preferPassiveOpenMpWaits() {
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            Optional<MemorySegment> setenv = linker.defaultLookup().find("setenv");
            if (setenv.isEmpty()) {
                return;
            }
            MethodHandle call = linker.downcallHandle(setenv.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            int ignored = (int) call.invokeExact(arena.allocateFrom("OMP_WAIT_POLICY"), arena.allocateFrom("passive"),
                    0);
        } catch (Throwable t) {
            // Only a speed hint: without it OpenMP's threads spin between regions, which is correct, just slower.
        }
    }

    public boolean loaded() {
        return name != null;
    }

    /** The name the library was loaded under, or null. */
    public String name() {
        return name;
    }

    /** Why no name loaded (the dynamic linker's words), or null when one did. */
    public String failure() {
        return failure;
    }

    public Optional<MemorySegment> find(String symbol) {
        return lookup.find(symbol);
    }

    MemorySegment findOrThrow(String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: " + symbol
                + (loaded() ? " in " + name : " (library not loaded: " + failure + ")")));
    }
}
