package dev.slimnx.graph.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorProto;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.StringPair;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing and reading external data: placement, lazy reads, moves between layouts, atomic writes. */
class ExternalDataTest {

    /** w1: 8x16 floats (512 bytes), b1: 16 floats (64 bytes), w2: 16x4 floats (256 bytes). */
    static Model mlp() {
        GraphBuilder b = new GraphBuilder(17, 3);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value h = b.op("MatMul", x, b.initializer(b.randomFloats("w1", 8, 16)));
        h = b.op("Add", h, b.initializer(b.randomFloats("b1", 16)));
        b.output(b.op("MatMul", h, b.initializer(b.randomFloats("w2", 16, 4))), DataType.FLOAT, "batch", 4);
        return b.build();
    }

    static Tensor init(Model m, String name) {
        return m.graph().initializer(name).initializer();
    }

    static Path externalized(Path dir) throws IOException {
        Path model = dir.resolve("model.onnx");
        OnnxWriter.write(mlp(), model, ExternalDataPolicy.externalize(100, "weights.bin"));
        return model;
    }

    static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static List<StringPair> entries(Tensor t) {
        return ((TensorData.External) t.data()).location().entries();
    }

    @Test
    void externalizeMovesLargeInitializersIntoOneAlignedFile(@TempDir Path dir) throws Exception {
        Model original = mlp();
        OnnxWriter.Result r = OnnxWriter.write(original, dir.resolve("model.onnx"),
                ExternalDataPolicy.externalize(100, "weights.bin"));

        assertEquals(dir.resolve("weights.bin"), r.dataFile());
        assertEquals(4096 + 256, r.externalBytes());
        assertFalse(r.forcedExternal());
        assertEquals(List.of("model.onnx", "weights.bin"), listing(dir));
        assertEquals(4096 + 256, Files.size(dir.resolve("weights.bin")));

        ModelProto proto = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("model.onnx")));
        TensorProto w1 = proto.getGraph().getInitializer(0);
        assertEquals(TensorProto.DataLocation.EXTERNAL, w1.getDataLocation());
        assertFalse(w1.hasRawData());
        assertEquals("weights.bin", w1.getExternalData(0).getValue());
        assertEquals("0", w1.getExternalData(1).getValue());
        assertEquals("512", w1.getExternalData(2).getValue());
        TensorProto b1 = proto.getGraph().getInitializer(1);
        assertEquals(TensorProto.DataLocation.DEFAULT, b1.getDataLocation());
        assertEquals(64, b1.getRawData().size());
        assertEquals(List.of("location", "offset", "length"),
                proto.getGraph().getInitializer(2).getExternalDataList().stream().map(e -> e.getKey()).toList());
        assertEquals("4096", proto.getGraph().getInitializer(2).getExternalData(1).getValue());
    }

    @Test
    void readBackIsLazyAndEqual(@TempDir Path dir) throws Exception {
        Model original = mlp();
        Model m = OnnxReader.read(externalized(dir));
        Tensor w1 = init(m, "w1");
        assertTrue(w1.isExternal());
        assertFalse(init(m, "b1").isExternal());
        assertTrue(init(m, "w2").isExternal());
        assertEquals(dir.resolve("weights.bin").toRealPath(), ((TensorData.External) w1.data()).location().file());
        assertArrayEquals(init(original, "w1").toFloatArray(), w1.toFloatArray());
        assertArrayEquals(init(original, "w2").toFloatArray(), init(m, "w2").toFloatArray());
        assertArrayEquals(init(original, "b1").toFloatArray(), init(m, "b1").toFloatArray());
    }

    /**
     * Lazy: reading the model maps nothing, so a data file cut short after the load shows only when
     * the values are read, as an error naming the file.
     */
    @Test
    void dataIsNotTouchedUntilRead(@TempDir Path dir) throws Exception {
        Model m = OnnxReader.read(externalized(dir));
        try (var ch = java.nio.channels.FileChannel.open(dir.resolve("weights.bin"), java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }
        var e = assertThrows(java.io.UncheckedIOException.class, () -> init(m, "w1").toFloatArray());
        assertTrue(e.getMessage().contains("weights.bin"), e.getMessage());
    }

    @Test
    void externalToInline(@TempDir Path dir) throws Exception {
        Model m = OnnxReader.read(externalized(dir.resolve("a")));
        Path out = dir.resolve("b/model.onnx");
        OnnxWriter.Result r = OnnxWriter.write(m, out, ExternalDataPolicy.inline());
        assertNull(r.dataFile());
        assertEquals(List.of("model.onnx"), listing(dir.resolve("b")));
        Model back = OnnxReader.read(out);
        for (String name : List.of("w1", "b1", "w2")) {
            assertFalse(init(back, name).isExternal(), name);
            assertArrayEquals(init(mlp(), name).toFloatArray(), init(back, name).toFloatArray(), name);
        }
        assertEquals(ModelProto.parseFrom(OnnxWriter.toBytes(mlp())), ModelProto.parseFrom(Files.readAllBytes(out)));
    }

    @Test
    void keepIntoAnotherFolderCopiesTheDataWithEntriesUnchanged(@TempDir Path dir) throws Exception {
        Path src = externalized(Files.createDirectory(dir.resolve("src")));
        Model m = OnnxReader.read(src);
        Path out = dir.resolve("dst/copy.onnx");
        OnnxWriter.Result r = OnnxWriter.write(m, out);

        assertNull(r.dataFile());
        assertEquals(List.of("copy.onnx", "weights.bin"), listing(dir.resolve("dst")));
        assertArrayEquals(Files.readAllBytes(src), Files.readAllBytes(out)); // same entries, same bytes
        Model back = OnnxReader.read(out);
        assertEquals(dir.resolve("dst/weights.bin").toRealPath(),
                ((TensorData.External) init(back, "w1").data()).location().file());
        assertEquals(entries(init(m, "w2")), entries(init(back, "w2")));
        assertArrayEquals(init(mlp(), "w1").toFloatArray(), init(back, "w1").toFloatArray());
        assertArrayEquals(init(mlp(), "w2").toFloatArray(), init(back, "w2").toFloatArray());
    }

    @Test
    void keepIntoTheSameFolderLeavesTheDataFileUntouched(@TempDir Path dir) throws Exception {
        Path src = externalized(dir);
        Path data = dir.resolve("weights.bin");
        byte[] before = Files.readAllBytes(data);
        FileTime old = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(data, old);

        Model m = OnnxReader.read(src);
        OnnxWriter.write(m, dir.resolve("second.onnx"));

        assertEquals(List.of("model.onnx", "second.onnx", "weights.bin"), listing(dir));
        assertArrayEquals(before, Files.readAllBytes(data));
        assertEquals(old, Files.getLastModifiedTime(data));
        assertArrayEquals(Files.readAllBytes(src), Files.readAllBytes(dir.resolve("second.onnx")));
    }

    /**
     * The 2 GB limit with a small stand-in: a model whose tensors exceed it gets external data
     * without being asked, in {@code <model>.data}, for tensors of at least the default threshold.
     */
    @Test
    void dataGoesExternalWhenTheModelWouldBeTooLarge(@TempDir Path dir) throws Exception {
        GraphBuilder b = new GraphBuilder(17, 5);
        Value x = b.input("x", DataType.FLOAT, 1, 32);
        Value y = b.op("Add", b.op("MatMul", x, b.initializer(b.randomFloats("w", 32, 32))),
                b.initializer(b.randomFloats("b", 32)));
        b.output(y);
        Model big = b.build();

        Path out = dir.resolve("big.onnx");
        OnnxWriter.Result r = OnnxWriter.write(big, out, ExternalDataPolicy.keep(), 4000);
        assertTrue(r.forcedExternal());
        assertEquals(dir.resolve("big.onnx.data"), r.dataFile());
        assertEquals(4096, r.externalBytes());
        assertEquals(List.of("big.onnx", "big.onnx.data"), listing(dir));
        Model back = OnnxReader.read(out);
        assertTrue(init(back, "w").isExternal());
        assertFalse(init(back, "b").isExternal()); // 128 bytes, under the default threshold
        assertArrayEquals(init(big, "w").toFloatArray(), init(back, "w").toFloatArray());

        OnnxWriter.Result small = OnnxWriter.write(big, dir.resolve("small.onnx"), ExternalDataPolicy.keep(), 5000);
        assertFalse(small.forcedExternal());
        assertNull(small.dataFile());
    }

    // ---- atomicity ----

    @Test
    void failedWriteOfAnExternalTensorWhoseFileVanishedLeavesNothing(@TempDir Path dir) throws Exception {
        Model m = OnnxReader.read(externalized(Files.createDirectory(dir.resolve("src"))));
        Files.delete(dir.resolve("src/weights.bin"));
        Path outDir = Files.createDirectory(dir.resolve("out"));
        for (ExternalDataPolicy policy : List.of(ExternalDataPolicy.keep(), ExternalDataPolicy.inline(),
                ExternalDataPolicy.externalize(100, "w.bin"))) {
            assertThrows(java.nio.file.NoSuchFileException.class,
                    () -> OnnxWriter.write(m, outDir.resolve("model.onnx"), policy), policy.toString());
            assertEquals(List.of(), listing(outDir), policy.toString());
        }
    }

    /**
     * The final move fails (the target is a folder that is not empty) after the data file has
     * moved into place: the data file is removed again, and no temporary file is left.
     */
    @Test
    void failedFinalMoveRemovesTheDataFileItCreated(@TempDir Path dir) throws Exception {
        Path target = Files.createDirectory(dir.resolve("model.onnx"));
        Files.writeString(target.resolve("keep.txt"), "occupied");
        assertThrows(IOException.class,
                () -> OnnxWriter.write(mlp(), target, ExternalDataPolicy.externalize(100, "weights.bin")));
        assertEquals(List.of("model.onnx"), listing(dir));
        assertEquals(List.of("keep.txt"), listing(target));
    }

    @Test
    void overwritingAModelReplacesItWhole(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("m.onnx");
        Files.writeString(out, "old content that is not a model");
        OnnxWriter.write(mlp(), out);
        assertEquals(ModelProto.parseFrom(OnnxWriter.toBytes(mlp())), ModelProto.parseFrom(Files.readAllBytes(out)));
        assertEquals(List.of("m.onnx"), listing(dir));
    }
}
