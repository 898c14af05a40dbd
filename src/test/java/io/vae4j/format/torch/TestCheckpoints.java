package io.vae4j.format.torch;

import io.vae4j.tensor.Tensor;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Lightning-style training checkpoints ({@code torch.save({'state_dict': ...})}) made from tensors in hand, for model
 * tests that need a .ckpt of weights only shipped as safetensors.
 */
public final class TestCheckpoints {
    private TestCheckpoints() {
    }

    /** Writes {@code {'state_dict': tensors}} as a torch zip archive, each tensor in its own float32 storage. */
    public static Path writeStateDict(Path dir, String fileName, Map<String, Tensor> tensors) throws IOException {
        TestArchives.Pickle p = new TestArchives.Pickle().proto().op('}').mark().str("state_dict").op('}');
        Map<String, byte[]> entries = new LinkedHashMap<>();
        int key = 0;
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            int[] shape = t.shape();
            long[] size = new long[shape.length], stride = new long[shape.length];
            long step = 1;
            for (int d = shape.length - 1; d >= 0; d--) {
                size[d] = shape[d];
                stride[d] = step;
                step *= shape[d];
            }
            p.item(e.getKey(), "FloatStorage", Integer.toString(key), t.numel(), 0, size, stride);
            entries.put("archive/data/" + key, TestArchives.floats(t.toFloatArray()));
            key++;
        }
        byte[] pickle = p.op('u').stop().bytes();
        Map<String, byte[]> all = new LinkedHashMap<>();
        all.put("archive/data.pkl", pickle);
        all.putAll(entries);
        all.put("archive/version", "3\n".getBytes());
        return alignedZip(dir.resolve(fileName), all);
    }

    /**
     * Stored entries whose data starts on a 64-byte boundary, padded as torch.save pads them (an extra field in
     * the local header), so that the storages map as aligned float arrays.
     */
    private static Path alignedZip(Path file, Map<String, byte[]> entries) throws IOException {
        try (CountingStream counted = new CountingStream(Files.newOutputStream(file));
             ZipOutputStream zip = new ZipOutputStream(counted)) {
            for (var e : entries.entrySet()) {
                byte[] data = e.getValue();
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(data.length);
                entry.setCompressedSize(data.length);
                CRC32 crc = new CRC32();
                crc.update(data);
                entry.setCrc(crc.getValue());
                long header = counted.count + 30 + e.getKey().getBytes(StandardCharsets.UTF_8).length + 4;
                int pad = (int) ((64 - header % 64) % 64);
                byte[] extra = new byte[4 + pad];
                extra[0] = 'F';
                extra[1] = 'B';
                extra[2] = (byte) pad;
                entry.setExtra(extra);
                zip.putNextEntry(entry);
                zip.write(data);
                zip.closeEntry();
            }
        }
        return file;
    }

    private static final class CountingStream extends FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }
}
