package dev.slimnx.validate.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxFileTest {
    @TempDir
    Path dir;

    private static byte[] idx(int typeCode, int[] dims, byte[] body) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt((typeCode << 8) | dims.length);
        for (int d : dims) {
            out.writeInt(d);
        }
        out.write(body);
        return bytes.toByteArray();
    }

    @Test
    void readsUnsignedBytesInBatches() throws Exception {
        byte[] body = new byte[3 * 2 * 2];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) (250 + i); // crosses 255 -> wraps: 250..255 then 0..5
        }
        Path f = dir.resolve("images");
        Files.write(f, idx(0x08, new int[] {3, 2, 2}, body));
        try (IdxFile idx = IdxFile.open(f)) {
            assertEquals(3, idx.count());
            assertArrayEquals(new int[] {2, 2}, idx.itemDims());
            float[] buf = new float[8];
            assertEquals(2, idx.read(buf, 2));
            assertArrayEquals(new float[] {250, 251, 252, 253, 254, 255, 0, 1}, buf);
            assertEquals(1, idx.read(buf, 2));
            assertArrayEquals(new float[] {2, 3, 4, 5}, java.util.Arrays.copyOf(buf, 4));
            assertEquals(0, idx.read(buf, 2));
        }
    }

    @Test
    void readsGzipAndWiderTypes() throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(body);
        d.writeFloat(1.5f);
        d.writeFloat(-2f);
        Path f = dir.resolve("floats.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
            out.write(idx(0x0D, new int[] {2}, body.toByteArray()));
        }
        try (IdxFile idx = IdxFile.open(f)) {
            float[] buf = new float[2];
            assertEquals(2, idx.read(buf, 10));
            assertArrayEquals(new float[] {1.5f, -2f}, buf);
        }
    }

    @Test
    void badFilesNameTheFileAndTheProblem() throws Exception {
        Path notIdx = dir.resolve("not.idx");
        Files.write(notIdx, new byte[] {1, 2, 3, 4, 5});
        DatasetException e = assertThrows(DatasetException.class, () -> IdxFile.open(notIdx));
        assertTrue(e.getMessage().startsWith(notIdx + ": not an IDX file"), e.getMessage());

        Path truncated = dir.resolve("short.idx");
        Files.write(truncated, idx(0x08, new int[] {10, 4}, new byte[7]));
        try (IdxFile idx = IdxFile.open(truncated)) {
            DatasetException t = assertThrows(DatasetException.class, () -> idx.read(new float[40], 10));
            assertTrue(t.getMessage().contains("ends after 0 of 10 items"), t.getMessage());
        }
    }

    @Test
    void readsTheCommittedFashionMnistTestSet() throws Exception {
        Path images = Path.of("../reference-models/data/t10k-images-idx3-ubyte.gz");
        try (IdxFile idx = IdxFile.open(images)) {
            assertEquals(10_000, idx.count());
            assertArrayEquals(new int[] {28, 28}, idx.itemDims());
            float[] buf = new float[784 * 500];
            int total = 0;
            for (int n; (n = idx.read(buf, 500)) > 0; ) {
                total += n;
            }
            assertEquals(10_000, total);
        }
    }
}
