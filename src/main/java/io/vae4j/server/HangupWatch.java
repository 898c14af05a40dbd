package io.vae4j.server;

import io.vae4j.util.Cancellation;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Notices clients that hang up while their request waits or computes, and cancels the work so its slot frees
 * within a kernel. HTTP/1.1 gives a server no word of it until it writes the response, and the HTTP layer reads
 * nothing from a connection while its handler runs; the kernel does know: a socket whose peer has closed is in
 * state CLOSE_WAIT. On Linux this reads that state from {@code /proc/net/tcp} and {@code /proc/net/tcp6} a few
 * times a second, only while something is watched; elsewhere it watches nothing (the request timeout still
 * applies).
 */
final class HangupWatch implements AutoCloseable {
    private static final Path[] TABLES = {Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6")};
    /** TCP states, as /proc/net/tcp writes them, in which the peer has closed its side. */
    private static final Set<String> PEER_CLOSED = Set.of("08", "09", "07"); // CLOSE_WAIT, LAST_ACK, CLOSE
    private static final long PERIOD_MS = 200;

    private record Connection(int localPort, InetAddress remote, int remotePort) {
    }

    private final Map<Connection, Cancellation> watched = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private final boolean available;

    HangupWatch() {
        available = Files.isReadable(TABLES[0]);
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vae4j-hangup-watch");
            t.setDaemon(true);
            return t;
        });
        if (available) {
            timer.scheduleWithFixedDelay(this::tick, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
        }
    }

    /** A connection being watched; closing it stops the watch. */
    interface Watch extends AutoCloseable {
        @Override
        void close();
    }

    /** Cancels {@code work} if the client at {@code remote} hangs up before the returned handle is closed. */
    Watch watch(SocketAddress local, SocketAddress remote, Cancellation work) {
        if (!available || !(local instanceof InetSocketAddress l) || !(remote instanceof InetSocketAddress r)
                || r.getAddress() == null) {
            return () -> { };
        }
        Connection c = new Connection(l.getPort(), r.getAddress(), r.getPort());
        watched.put(c, work);
        return () -> watched.remove(c, work);
    }

    private void tick() {
        if (watched.isEmpty()) {
            return;
        }
        Set<Connection> closed = new HashSet<>();
        for (Path table : TABLES) {
            try {
                closedIn(Files.readAllLines(table), closed);
            } catch (IOException | RuntimeException e) {
                // A table that cannot be read tells nothing; the request timeout still holds.
            }
        }
        for (Connection c : closed) {
            Cancellation work = watched.remove(c);
            if (work != null) {
                work.cancel("the client closed the connection");
            }
        }
    }

    /** Adds the connections of a /proc/net/tcp table whose peer has closed. */
    static void closedIn(List<String> lines, Set<Connection> into) throws UnknownHostException {
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).trim().split("\\s+");
            if (f.length < 4 || !PEER_CLOSED.contains(f[3])) {
                continue;
            }
            int localColon = f[1].indexOf(':'), remoteColon = f[2].indexOf(':');
            if (localColon < 0 || remoteColon < 0) {
                continue;
            }
            into.add(new Connection(Integer.parseInt(f[1].substring(localColon + 1), 16),
                    address(f[2].substring(0, remoteColon)), Integer.parseInt(f[2].substring(remoteColon + 1), 16)));
        }
    }

    /**
     * An address as /proc/net/tcp writes it: the raw bytes as 32-bit words in the machine's byte order, 8 hex
     * digits for IPv4 and 32 for IPv6 (an IPv4-mapped IPv6 address comes back as the IPv4 one).
     */
    static InetAddress address(String hex) throws UnknownHostException {
        byte[] b = new byte[hex.length() / 2];
        boolean little = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
        for (int w = 0; w < b.length / 4; w++) {
            long word = Long.parseLong(hex.substring(w * 8, w * 8 + 8), 16);
            for (int k = 0; k < 4; k++) {
                int shift = little ? 8 * k : 8 * (3 - k);
                b[w * 4 + k] = (byte) (word >>> shift);
            }
        }
        return InetAddress.getByAddress(b);
    }

    /** Connections watched now (for tests). */
    int size() {
        return watched.size();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        watched.clear();
    }
}
