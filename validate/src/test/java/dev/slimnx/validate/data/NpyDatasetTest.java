package dev.slimnx.validate.data;

import static dev.slimnx.validate.data.DataFixtures.model;
import static dev.slimnx.validate.data.DataFixtures.npy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyDatasetTest {
    @TempDir
    Path dir;

    private final Model floats = model("x", DataType.FLOAT, "batch", 2);

    private static byte[] le(int bytesPer, ByteOrder order, double... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * bytesPer).order(order);
        for (double v : values) {
            switch (bytesPer) {
                case 1 -> b.put((byte) v);
                case 4 -> b.putFloat((float) v);
                default -> b.putDouble(v);
            }
        }
        return b.array();
    }

    private static byte[] longs(long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return b.array();
    }

    private Path file(String name, byte[] bytes) throws Exception {
        return Files.write(dir.resolve(name), bytes);
    }

    private float[] readAll(Path f, Model m) throws Exception {
        try (Dataset d = Datasets.open(new DataFixtures.Spec(f).build(), m, "test")) {
            assertFalse(d.labelled());
            return d.next(100).inputs().get("x").toFloatArray();
        }
    }

    @Test
    void headerVersionsOneTwoAndThreeAndTheirDtypesConvertToTheInputType() throws Exception {
        float[] expected = {1, 2, 3, 4, 5, 6};
        String f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
        assertArrayEquals(expected, readAll(file("v1.npy", npy(1, f4, le(4, ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4, 5, 6))), floats));
        String f8 = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
        assertArrayEquals(expected, readAll(file("v2.npy", npy(2, f8, le(8, ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4, 5, 6))), floats));
        String u1 = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2), }";
        assertArrayEquals(expected, readAll(file("v3.npy", npy(3, u1, le(1, ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4, 5, 6))), floats));
        String be = "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2)}";
        assertArrayEquals(expected, readAll(file("be.npy", npy(1, be, le(4, ByteOrder.BIG_ENDIAN, 1, 2, 3, 4, 5, 6))), floats));
    }

    @Test
    void int64AndBoolArraysFeedInputsOfTheirOwnType() throws Exception {
        Path ids = file("ids.npy", npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", longs(7, -3)));
        try (Dataset d = Datasets.open(new DataFixtures.Spec(ids).build(), model("x", DataType.INT64, "n"), "test")) {
            Tensor t = d.next(5).inputs().get("x");
            assertEquals(DataType.INT64, t.dataType());
            assertArrayEquals(new long[] {7, -3}, t.toLongArray());
        }
        Path mask = file("mask.npy", npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 3), }", new byte[] {1, 0, 1}));
        try (Dataset d = Datasets.open(new DataFixtures.Spec(mask).build(), model("x", DataType.BOOL, "n", 3), "test")) {
            Tensor t = d.next(5).inputs().get("x");
            assertEquals(DataType.BOOL, t.dataType());
            ByteBuffer raw = t.rawBytes();
            assertEquals(1, raw.get(0));
            assertEquals(0, raw.get(1));
        }
    }

    @Test
    void rowsAreReadInBatchesUpToTheLimit() throws Exception {
        Path f = file("x.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2), }",
                le(4, ByteOrder.LITTLE_ENDIAN, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)));
        DataFixtures.Spec s = new DataFixtures.Spec(f);
        s.limit = 3;
        try (Dataset d = Datasets.open(s.build(), floats, "test")) {
            assertEquals(3, d.size());
            assertArrayEquals(new float[] {0, 1, 2, 3}, d.next(2).inputs().get("x").toFloatArray());
            assertArrayEquals(new float[] {4, 5}, d.next(2).inputs().get("x").toFloatArray());
            assertNull(d.next(2));
        }
    }

    private Path npz(String name, boolean deflate, Object... nameAndBytes) throws Exception {
        Path f = dir.resolve(name);
        try (OutputStream os = Files.newOutputStream(f); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (int i = 0; i < nameAndBytes.length; i += 2) {
                byte[] data = (byte[]) nameAndBytes[i + 1];
                ZipEntry e = new ZipEntry(nameAndBytes[i] + ".npy");
                if (!deflate) {
                    CRC32 crc = new CRC32();
                    crc.update(data);
                    e.setMethod(ZipEntry.STORED);
                    e.setSize(data.length);
                    e.setCrc(crc.getValue());
                }
                zip.putNextEntry(e);
                zip.write(data);
                zip.closeEntry();
            }
        }
        return f;
    }

    @Test
    void npzFeedsEachInputByNameWithLabelsStoredOrDeflated() throws Exception {
        GraphBuilder b = new GraphBuilder(17);
        Value img = b.input("img", DataType.FLOAT, "n", 2);
        Value pos = b.input("pos", DataType.INT64, "n");
        b.output(b.op("Identity", img));
        b.output(b.op("Identity", pos));
        Model two = b.build();
        byte[] imgs = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }",
                le(4, ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4, 5, 6));
        byte[] poss = npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", longs(10, 11, 12));
        byte[] labels = npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
                ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(2).putInt(0).putInt(1).array());
        for (boolean deflate : new boolean[] {false, true}) {
            Path f = npz("d" + deflate + ".npz", deflate, "img", imgs, "pos", poss, "y", labels);
            try (Dataset d = Datasets.open(new DataFixtures.Spec(f).build(), two, "test")) {
                assertTrue(d.labelled());
                Batch first = d.next(2);
                assertArrayEquals(new float[] {1, 2, 3, 4}, first.inputs().get("img").toFloatArray());
                assertArrayEquals(new long[] {10, 11}, first.inputs().get("pos").toLongArray());
                assertArrayEquals(new int[] {2, 0}, first.labels());
                assertArrayEquals(new int[] {1}, d.next(2).labels());
            }
        }
    }

    @Test
    void oneArrayFeedsTheOneInputWhateverItsName() throws Exception {
        byte[] data = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", le(4, ByteOrder.LITTLE_ENDIAN, 8, 9));
        Path f = npz("one.npz", true, "arr_0", data);
        assertArrayEquals(new float[] {8, 9}, readAll(f, floats));
    }

    @Test
    void npzWithoutAnArrayForAnInputListsWhatItHas() throws Exception {
        byte[] data = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", le(4, ByteOrder.LITTLE_ENDIAN, 8, 9));
        Path f = npz("two.npz", true, "a", data, "b", data);
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(new DataFixtures.Spec(f).build(), floats, "test"));
        assertEquals(f + ": no array for model input 'x'; the archive has [a, b], expected [x] (plus optional labels or y)",
                e.getMessage());
    }

    @Test
    void corruptAndUnsupportedHeadersAreRefusedWithTheReason() throws Exception {
        Path notNpy = file("bad.npy", "hello, world".getBytes());
        assertEquals(notNpy + ": not an NPY file (no \\x93NUMPY magic)", openError(notNpy));
        Path noShape = file("noshape.npy", npy(1, "{'descr': '<f4', 'fortran_order': False}", new byte[0]));
        assertEquals(noShape + ": corrupt NPY header: no 'shape' in {'descr': '<f4', 'fortran_order': False}", openError(noShape));
        Path garbled = file("garbled.npy", npy(1, "{'descr': '<f4' 'shape': (2,)}", new byte[8]));
        assertEquals(garbled + ": corrupt NPY header: expected ',' at 16 in {'descr': '<f4' 'shape': (2,)}", openError(garbled));
        Path fortran = file("f.npy", npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", new byte[8]));
        assertEquals(fortran + ": Fortran-ordered arrays are not supported; save np.ascontiguousarray(a)", openError(fortran));
        Path complex = file("c.npy", npy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1, 2), }", new byte[16]));
        assertEquals(complex + ": NPY dtype '<c8' is not supported (floats f2/f4/f8, integers i1..i8 and u1..u8, bool b1)",
                openError(complex));
        Path wrongShape = file("w.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", new byte[12]));
        assertEquals(wrongShape + ": shape (1, 3) does not fit model input 'x' [batch, 2] (the first axis lists the items)",
                openError(wrongShape));
    }

    @Test
    void truncatedDataAndFloatsForAnIntegerInputFailWhenRead() throws Exception {
        Path shortFile = file("short.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", new byte[12]));
        try (Dataset d = Datasets.open(new DataFixtures.Spec(shortFile).build(), floats, "test")) {
            assertEquals(shortFile + ": data ends after 1 of 3 rows", assertThrows(DatasetException.class, () -> d.next(3)).getMessage());
        }
        Path fl = file("fl.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]));
        try (Dataset d = Datasets.open(new DataFixtures.Spec(fl).build(), model("x", DataType.INT64, "n"), "test")) {
            assertEquals(fl + ": holds FLOAT values, but model input 'x' is INT64; save the array with that type",
                    assertThrows(DatasetException.class, () -> d.next(1)).getMessage());
        }
    }

    private String openError(Path f) {
        return assertThrows(DatasetException.class, () -> Datasets.open(new DataFixtures.Spec(f).build(), floats, "test")).getMessage();
    }
}
