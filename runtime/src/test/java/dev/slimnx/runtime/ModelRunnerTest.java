package dev.slimnx.runtime;

import static dev.slimnx.graph.testing.Assertions.assertAllClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.ExternalDataPolicy;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ModelRunnerTest {
    private static final int IN = 4;
    private static final int OUT = 3;

    /** y = Relu(x · W + b) with x: FLOAT[batch, 4]; also returns the pre-activation z. */
    private static final class Mlp {
        final float[] w;
        final float[] b;
        final Model model;

        Mlp() {
            GraphBuilder g = new GraphBuilder(17, 7);
            Value x = g.input("x", DataType.FLOAT, "batch", IN);
            Tensor wt = g.randomFloats("W", IN, OUT);
            Tensor bt = g.randomFloats("b", OUT);
            w = wt.toFloatArray();
            b = bt.toFloatArray();
            Value z = g.op("Add", g.op("MatMul", x, g.initializer(wt)), g.initializer(bt));
            z.setName("z");
            Value y = g.op("Relu", z);
            y.setName("y");
            g.output(y, DataType.FLOAT, "batch", OUT);
            g.output(z, DataType.FLOAT, "batch", OUT);
            model = g.build();
        }

        float[] expectedY(float[] x, int batch) {
            float[] y = new float[batch * OUT];
            for (int r = 0; r < batch; r++) {
                for (int c = 0; c < OUT; c++) {
                    float s = b[c];
                    for (int k = 0; k < IN; k++) {
                        s += x[r * IN + k] * w[k * OUT + c];
                    }
                    y[r * OUT + c] = Math.max(0, s);
                }
            }
            return y;
        }
    }

    private static float[] randomInput(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextFloat() * 4 - 2;
        }
        return x;
    }

    @Test
    void runsSymbolicBatchAtOneAndFive() {
        Mlp mlp = new Mlp();
        try (ModelRunner runner = ModelRunner.open(mlp.model, RunOptions.reference())) {
            IoInfo in = runner.inputs().getFirst();
            assertEquals("x", in.name());
            assertEquals(DataType.FLOAT, in.elementType());
            assertEquals(Dim.symbolic("batch"), in.shape().dim(0));
            assertArrayEquals(new long[] {-1, IN}, in.dims());
            assertEquals(List.of("y", "z"), runner.outputs().stream().map(IoInfo::name).toList());
            for (int batch : new int[] {1, 5}) {
                float[] x = randomInput(batch * IN, batch);
                Map<String, Tensor> out = runner.run(Map.of("x", Tensor.ofFloats("x", new long[] {batch, IN}, x)));
                assertEquals(List.of("y", "z"), List.copyOf(out.keySet()));
                Tensor y = out.get("y");
                assertArrayEquals(new long[] {batch, OUT}, y.dims());
                assertAllClose(mlp.expectedY(x, batch), y.toFloatArray(), 1e-5, 1e-6);
            }
        }
    }

    @Test
    void directBufferInputGivesTheSameResult() {
        Mlp mlp = new Mlp();
        float[] x = randomInput(2 * IN, 3);
        ByteBuffer direct = ByteBuffer.allocateDirect(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        direct.asFloatBuffer().put(x);
        try (ModelRunner runner = ModelRunner.open(mlp.model, RunOptions.reference())) {
            Tensor y = runner.run(Map.of("x", Tensor.ofRaw("x", DataType.FLOAT, new long[] {2, IN}, direct))).get("y");
            assertAllClose(mlp.expectedY(x, 2), y.toFloatArray(), 1e-5, 1e-6);
        }
    }

    /** Inputs read from a file are read-only views of a mapping; they go to ORT without a copy. */
    @Test
    void memoryMappedInputGivesTheSameResult(@TempDir Path dir) throws Exception {
        Mlp mlp = new Mlp();
        float[] x = randomInput(3 * IN, 4);
        ByteBuffer bytes = ByteBuffer.allocate(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(x);
        Path file = dir.resolve("x.bin");
        Files.write(file, bytes.array());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
             ModelRunner runner = ModelRunner.open(mlp.model, RunOptions.reference())) {
            ByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            Tensor in = Tensor.ofRaw("x", DataType.FLOAT, new long[] {3, IN}, mapped);
            assertTrue(in.rawBytes().isDirect() && in.rawBytes().isReadOnly());
            Tensor y = runner.run(Map.of("x", in)).get("y");
            assertAllClose(mlp.expectedY(x, 3), y.toFloatArray(), 1e-5, 1e-6);
        }
    }

    @Test
    void selectsOutputs() {
        Mlp mlp = new Mlp();
        float[] x = randomInput(IN, 11);
        try (ModelRunner runner = ModelRunner.open(mlp.model, RunOptions.reference())) {
            Map<String, Tensor> out = runner.run(Map.of("x", Tensor.ofFloats("x", new long[] {1, IN}, x)), List.of("z"));
            assertEquals(List.of("z"), List.copyOf(out.keySet()));
            RuntimeFailure f = assertThrows(RuntimeFailure.class,
                    () -> runner.run(Map.of("x", Tensor.ofFloats("x", new long[] {1, IN}, x)), List.of("nope")));
            assertEquals(RuntimeFailure.Kind.INVALID_INPUT, f.kind());
            assertTrue(f.getMessage().contains("unknown output 'nope'"), f.getMessage());
            assertTrue(f.getMessage().contains("y: FLOAT[batch, 3]"), f.getMessage());
        }
    }

    @Test
    void missingInputListsExpectedInputs() {
        try (ModelRunner runner = ModelRunner.open(new Mlp().model, RunOptions.reference())) {
            RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> runner.run(Map.of()));
            assertEquals(RuntimeFailure.Kind.INVALID_INPUT, f.kind());
            assertEquals("model 'graph': missing input 'x'; the model's inputs are [x: FLOAT[batch, 4]]", f.getMessage());
        }
    }

    @Test
    void unknownInputIsNamed() {
        try (ModelRunner runner = ModelRunner.open(new Mlp().model, RunOptions.reference())) {
            Tensor x = Tensor.ofFloats("x", new long[] {1, IN}, new float[IN]);
            RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> runner.run(Map.of("x", x, "extra", x)));
            assertTrue(f.getMessage().contains("unknown input 'extra'; the model's inputs are [x: FLOAT[batch, 4]]"),
                    f.getMessage());
        }
    }

    @Test
    void wrongElementTypeIsNamed() {
        try (ModelRunner runner = ModelRunner.open(new Mlp().model, RunOptions.reference())) {
            Tensor x = Tensor.ofLongs("x", new long[] {1, IN}, 1, 2, 3, 4);
            RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> runner.run(Map.of("x", x)));
            assertEquals(RuntimeFailure.Kind.INVALID_INPUT, f.kind());
            assertTrue(f.getMessage().contains("input 'x' has element type INT64, the model expects x: FLOAT[batch, 4]"),
                    f.getMessage());
        }
    }

    @Test
    void wrongRankAndWrongDimAreNamed() {
        try (ModelRunner runner = ModelRunner.open(new Mlp().model, RunOptions.reference())) {
            Tensor rank3 = Tensor.ofFloats("x", new long[] {1, 1, IN}, new float[IN]);
            RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> runner.run(Map.of("x", rank3)));
            assertTrue(f.getMessage().contains("input 'x' has shape [1, 1, 4] (rank 3), the model expects"
                    + " x: FLOAT[batch, 4] (rank 2)"), f.getMessage());
            Tensor wide = Tensor.ofFloats("x", new long[] {1, 5}, new float[5]);
            f = assertThrows(RuntimeFailure.class, () -> runner.run(Map.of("x", wide)));
            assertTrue(f.getMessage().endsWith("dim 1 must be 4"), f.getMessage());
        }
    }

    @Test
    void closedRunnerThrows() {
        ModelRunner runner = ModelRunner.open(new Mlp().model, RunOptions.reference());
        runner.close();
        runner.close(); // a second close does nothing
        Tensor x = Tensor.ofFloats("x", new long[] {1, IN}, new float[IN]);
        for (Runnable call : List.<Runnable>of(runner::inputs, runner::outputs, runner::options,
                () -> runner.run(Map.of("x", x)), () -> runner.run(Map.of("x", x), List.of("y")))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, call::run);
            assertTrue(e.getMessage().startsWith("runner is closed"), e.getMessage());
        }
    }

    @Test
    void sessionFailureNamesModelAndCarriesOrtMessage() {
        GraphBuilder g = new GraphBuilder(17);
        g.output(g.op("NoSuchOp", g.input("x", DataType.FLOAT, 2)), DataType.FLOAT, 2);
        g.graph().setName("broken");
        RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> ModelRunner.open(g.build(), RunOptions.reference()));
        assertEquals(RuntimeFailure.Kind.SESSION_FAILED, f.kind());
        assertEquals("'broken'", f.model());
        assertTrue(f.getMessage().startsWith("model 'broken': ONNX Runtime cannot load it: "), f.getMessage());
        assertTrue(f.getMessage().contains("NoSuchOp"), f.getMessage());
    }

    /** Element types the Java API can pass both ways: an Identity model must return the input bytes. */
    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16", "INT8", "UINT8", "INT16",
        "INT32", "INT64", "BOOL"})
    void identityReturnsTheSameBytes(DataType type) {
        long[] dims = {2, 3};
        int bytes = (int) type.byteSize(6);
        ByteBuffer data = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        Random r = new Random(type.ordinal());
        for (int i = 0; i < bytes; i++) {
            data.put(type == DataType.BOOL ? (byte) r.nextInt(2) : (byte) (r.nextInt(100) + 1));
        }
        Tensor in = Tensor.ofRaw("x", type, dims, data.flip());
        try (ModelRunner runner = ModelRunner.open(identity(type), RunOptions.reference())) {
            assertEquals(type, runner.inputs().getFirst().elementType());
            Tensor out = runner.run(Map.of("x", in)).get("y");
            assertEquals(type, out.dataType());
            assertArrayEquals(dims, out.dims());
            assertEquals(in.rawBytes(), out.rawBytes());
        }
    }

    @Test
    void stringsRoundTrip() {
        List<byte[]> values = List.of("a".getBytes(StandardCharsets.UTF_8), "b\u00e9c".getBytes(StandardCharsets.UTF_8),
                new byte[0], "xyz".getBytes(StandardCharsets.UTF_8), "d".getBytes(StandardCharsets.UTF_8),
                "\u65e5\u672c".getBytes(StandardCharsets.UTF_8));
        Tensor in = new Tensor("x", DataType.STRING.code(), new long[] {2, 3}, TensorCodec.stringFields(values), "",
                List.of(), null, OpaqueFields.NONE);
        try (ModelRunner runner = ModelRunner.open(identity(DataType.STRING), RunOptions.reference())) {
            Tensor out = runner.run(Map.of("x", in)).get("y");
            assertEquals(DataType.STRING, out.dataType());
            assertArrayEquals(new long[] {2, 3}, out.dims());
            List<byte[]> got = out.strings();
            for (int i = 0; i < values.size(); i++) {
                assertArrayEquals(values.get(i), got.get(i));
            }
        }
    }

    @Test
    void typeTheJavaApiCannotPassIsReported() {
        Tensor in = Tensor.ofIntegers("x", DataType.UINT16, new long[] {2, 3}, 1, 2, 3, 4, 5, 6);
        try (ModelRunner runner = ModelRunner.open(identity(DataType.UINT16), RunOptions.reference())) {
            RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> runner.run(Map.of("x", in)));
            assertEquals(RuntimeFailure.Kind.UNSUPPORTED_TYPE, f.kind());
            assertTrue(f.getMessage().contains("input 'x' has element type UINT16"), f.getMessage());
        }
    }

    @Test
    void externalDataModelRunsFromATemporaryFolderDeletedOnClose(@TempDir Path dir) throws Exception {
        Mlp mlp = new Mlp();
        Path file = dir.resolve("mlp.onnx");
        OnnxWriter.write(mlp.model, file, ExternalDataPolicy.externalize(0, "mlp.data"));
        Model external = OnnxReader.read(file);
        assertTrue(external.graph().initializer("W").initializer().isExternal());
        float[] x = randomInput(3 * IN, 5);
        ModelRunner runner = ModelRunner.open(external, RunOptions.reference());
        Path temp = runner.tempDir();
        assertNotNull(temp);
        assertTrue(Files.isDirectory(temp));
        Tensor y = runner.run(Map.of("x", Tensor.ofFloats("x", new long[] {3, IN}, x))).get("y");
        assertAllClose(mlp.expectedY(x, 3), y.toFloatArray(), 1e-5, 1e-6);
        runner.close();
        assertFalse(Files.exists(temp));
    }

    @Test
    void opensFilesAndReportsMissingOnes(@TempDir Path dir) throws Exception {
        Mlp mlp = new Mlp();
        Path file = dir.resolve("mlp.onnx");
        OnnxWriter.write(mlp.model, file);
        float[] x = randomInput(IN, 9);
        try (ModelRunner runner = ModelRunner.open(file, RunOptions.defaults())) {
            Tensor y = runner.run(Map.of("x", Tensor.ofFloats("x", new long[] {1, IN}, x))).get("y");
            assertAllClose(mlp.expectedY(x, 1), y.toFloatArray(), 1e-5, 1e-6);
        }
        RuntimeFailure f = assertThrows(RuntimeFailure.class,
                () -> ModelRunner.open(dir.resolve("absent.onnx"), RunOptions.reference()));
        assertEquals(RuntimeFailure.Kind.IO, f.kind());
        assertTrue(f.getMessage().endsWith("absent.onnx: no such file"), f.getMessage());
    }

    @Test
    void cudaMatchesCpu() {
        assumeTrue(ModelRunner.cudaAvailable(), "no CUDA here: " + ExecutionProvider.CUDA.unavailableReason().orElse(""));
        Mlp mlp = new Mlp();
        float[] x = randomInput(5 * IN, 13);
        RunOptions gpu = RunOptions.reference().withProvider(ExecutionProvider.CUDA);
        try (ModelRunner runner = ModelRunner.open(mlp.model, gpu)) {
            Tensor y = runner.run(Map.of("x", Tensor.ofFloats("x", new long[] {5, IN}, x))).get("y");
            assertAllClose(mlp.expectedY(x, 5), y.toFloatArray(), 1e-4, 1e-5);
        }
    }

    @Test
    void cudaUnavailableSaysWhatIsMissing() {
        assumeFalse(ModelRunner.cudaAvailable(), "CUDA is available here");
        RunOptions gpu = RunOptions.reference().withProvider(ExecutionProvider.CUDA);
        RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> ModelRunner.open(new Mlp().model, gpu));
        assertEquals(RuntimeFailure.Kind.PROVIDER_UNAVAILABLE, f.kind());
        assertTrue(f.getMessage().contains("CUDA 12") && f.getMessage().contains("cuDNN 9"), f.getMessage());
        assertEquals(f.getMessage(), "model 'graph': " + ExecutionProvider.CUDA.unavailableReason().orElseThrow());
    }

    @Test
    void runOptionsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new RunOptions(ExecutionProvider.CPU, -1, OptimizationLevel.ALL));
        assertThrows(NullPointerException.class, () -> new RunOptions(null, 0, OptimizationLevel.ALL));
        assertThrows(NullPointerException.class, () -> new RunOptions(ExecutionProvider.CPU, 0, null));
        assertEquals(new RunOptions(ExecutionProvider.CPU, 1, OptimizationLevel.DISABLED), RunOptions.reference());
        assertEquals(new RunOptions(ExecutionProvider.CPU, 0, OptimizationLevel.ALL), RunOptions.defaults());
        assertEquals(ExecutionProvider.CUDA, ExecutionProvider.fromName(" Cuda "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ExecutionProvider.fromName("tpu"));
        assertEquals("unknown execution provider 'tpu'; expected one of cpu, cuda", e.getMessage());
        assertTrue(ExecutionProvider.CPU.isAvailable());
    }

    @Test
    void reportsOrtVersion() {
        assertEquals("1.23.2", ModelRunner.ortVersion());
    }

    private static Model identity(DataType type) {
        GraphBuilder g = new GraphBuilder(17);
        Value y = g.op("Identity", g.input("x", type, 2, 3));
        y.setName("y");
        g.output(y, type, 2, 3);
        return g.build();
    }

    @Test
    void writesWhatOnnxRuntimeOptimizesAtTheBasicLevel(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        GraphBuilder g = new GraphBuilder(17, 3);
        Value x = g.input("x", DataType.FLOAT, "batch", IN);
        Value twice = g.op("Identity", g.op("Identity", x));
        g.output(g.op("Relu", twice), DataType.FLOAT, "batch", IN);
        java.nio.file.Path out = dir.resolve("basic.onnx");
        ModelRunner.writeOptimized(g.build(), RunOptions.reference().withOptimizationLevel(OptimizationLevel.BASIC), out);
        Model optimized = dev.slimnx.graph.io.OnnxReader.read(out);
        assertEquals(java.util.List.of("Relu"), optimized.graph().nodes().stream().map(n -> n.opType()).toList(),
                "basic level removes Identity nodes");
    }

    @Test
    void writesTheOrtFormatThatOnnxRuntimeLoadsBack(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        GraphBuilder g = new GraphBuilder(17, 3);
        Value x = g.input("x", DataType.FLOAT, 1, IN);
        g.output(g.op("Relu", g.op("Identity", x)), DataType.FLOAT, 1, IN);
        Model model = g.build();
        Path out = dir.resolve("m.ort");
        ModelRunner.writeOrtFormat(model, OptimizationLevel.BASIC, out);
        byte[] head = new byte[8];
        try (var in = Files.newInputStream(out)) {
            assertEquals(8, in.readNBytes(head, 0, 8));
        }
        // a flatbuffer whose file identifier (bytes 4..7) is ORT's "ORTM", not an ONNX protobuf
        assertEquals("ORTM", new String(head, 4, 4, StandardCharsets.US_ASCII));
        float[] values = new float[IN];
        for (int i = 0; i < IN; i++) {
            values[i] = i - IN / 2f;
        }
        Tensor feed = Tensor.ofFloats("x", new long[] {1, IN}, values);
        try (ModelRunner a = ModelRunner.open(model, RunOptions.reference());
             ModelRunner b = ModelRunner.open(out, RunOptions.reference())) {
            assertAllClose(a.run(Map.of("x", feed)).get(model.graph().outputs().get(0).name()),
                    b.run(Map.of("x", feed)).get(model.graph().outputs().get(0).name()), 0, 0);
        }
    }
}
