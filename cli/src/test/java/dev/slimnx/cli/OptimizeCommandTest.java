package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassRegistry;
import dev.slimnx.passes.PassResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class OptimizeCommandTest {
    @TempDir
    Path dir;

    /** Identity, a Constant node and a Conv → BatchNormalization: work for every lossless pass. */
    private Path model() throws Exception {
        GraphBuilder b = new GraphBuilder(17, 5);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 8, 8);
        Value w = b.initializer(b.randomFloats("w", 4, 3, 3, 3));
        Value conv = b.node("Conv", b.op("Identity", x), w).ints("pads", 1, 1, 1, 1).value();
        Value scale = b.initializer(b.randomFloats("scale", 4));
        Value bias = b.initializer(b.randomFloats("bias", 4));
        Value mean = b.initializer(b.randomFloats("mean", 4));
        Value var = b.initializer(Tensor.ofFloats("var", new long[] {4}, 0.5f, 1.5f, 2f, 0.8f));
        Value bn = b.op("BatchNormalization", conv, scale, bias, mean, var);
        Value two = b.node("Constant").attr(dev.slimnx.graph.Attribute.ofTensor("value",
                Tensor.ofFloats("two", new long[0], 2f))).value();
        b.output(b.op("Mul", b.op("Relu", bn), two), DataType.FLOAT, "batch", 4, 8, 8).setName("y");
        Path p = dir.resolve("model.onnx");
        OnnxWriter.write(b.build(), p);
        return p;
    }

    @Test
    void theDefaultPipelineFoldsAndVerifies() throws Exception {
        Path in = model();
        Path out = dir.resolve("out.onnx");
        CliRun r = CliRun.of("optimize", in.toString(), "-o", out.toString(), "--verify");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("fold-batchnorm"), r.out());
        assertTrue(r.out().matches("(?s).*nodes\\s+6\\s+3\\s+\\(-50\\.0%\\).*"), "Identity, Constant, BN go: " + r.out());
        assertTrue(r.out().contains("verify: 64 items of random inputs from the signature"), r.out());
        Model result = OnnxReader.read(out);
        assertEquals(List.of("Conv", "Relu", "Mul"), result.graph().nodes().stream().map(n -> n.opType()).toList());
        assertEquals("y", result.graph().outputs().get(0).name());
    }

    @Test
    void aChosenPassRunsAlone() throws Exception {
        Path in = model();
        Path out = dir.resolve("out.onnx");
        CliRun r = CliRun.of("optimize", in.toString(), "-o", out.toString(), "--passes", "eliminate");
        assertEquals(0, r.exitCode(), r.err());
        Model result = OnnxReader.read(out);
        assertEquals(List.of("Conv", "BatchNormalization", "Constant", "Relu", "Mul"),
                result.graph().nodes().stream().map(n -> n.opType()).toList());
    }

    /** Claims to be lossless but adds 0.01 to every weight: what --verify exists to catch. */
    private static final class Nudge implements Pass {
        @Override
        public String id() {
            return "nudge";
        }

        @Override
        public PassResult run(Model model, PassContext context) {
            for (Value v : List.copyOf(model.graph().initializers())) {
                float[] w = v.initializer().toFloatArray();
                for (int i = 0; i < w.length; i++) {
                    w[i] += 0.01f;
                }
                model.graph().setInitializerData(v, Tensor.ofFloats(v.name(), v.initializer().dims(), w));
            }
            return PassResult.of(id(), Map.of("nudged", 1));
        }
    }

    @Test
    void verifyRefusesToWriteAResultThatDiffers() throws Exception {
        Path in = model();
        Path out = dir.resolve("out.onnx");
        PassRegistry nudging = new PassRegistry(List.of(
                new PassDescriptor("nudge", "adds 0.01 to every weight", true, List.of(), o -> new Nudge())));
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                K made = CommandLine.defaultFactory().create(cls);
                if (made instanceof OptimizeCommand c) {
                    c.registry = nudging;
                }
                return made;
            }
        };
        CliRun r = CliRun.with(factory, "optimize", in.toString(), "-o", out.toString(), "--verify");
        assertEquals(1, r.exitCode(), r.out() + r.err());
        assertTrue(r.err().contains("verify failed on 64 items"), r.err());
        assertTrue(r.err().contains("y: max |diff|"), r.err());
        assertTrue(r.err().contains("was not written"), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void listShowsEveryPassAndTheDefaultPipeline() {
        CliRun r = CliRun.of("optimize", "--list");
        assertEquals(0, r.exitCode(), r.err());
        for (String id : List.of("fold-constants", "eliminate", "fold-batchnorm", "fuse", "dead-code")) {
            assertTrue(r.out().contains(id), id + " missing from " + r.out());
        }
        assertTrue(r.out().contains("default pipeline: fold-constants,eliminate,fold-batchnorm,fuse,dead-code"), r.out());
    }

    @Test
    void unknownPassesAndOptionsAreOneLineErrors() throws Exception {
        Path in = model();
        Path out = dir.resolve("out.onnx");
        CliRun r = CliRun.of("optimize", in.toString(), "-o", out.toString(), "--passes", "fold-everything");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().strip().startsWith("slimnx optimize: no pass 'fold-everything'; known passes: fold-constants,"
                + " eliminate, fold-batchnorm, fuse, dead-code, quantize-static"), r.err());
        assertEquals(1, r.err().strip().lines().count());
        CliRun o = CliRun.of("optimize", in.toString(), "-o", out.toString(), "--pass-option", "eliminate.depth=3");
        assertEquals(2, o.exitCode());
        assertTrue(o.err().strip().startsWith("slimnx optimize: pass eliminate has no option 'depth'"), o.err());
        CliRun s = CliRun.of("optimize", in.toString(), "-o", out.toString(), "--pass-option", "nodot");
        assertEquals(2, s.exitCode());
        assertFalse(Files.exists(out));
    }

    @Test
    void aMalformedModelIsOneLineAndNothingIsWritten() throws Exception {
        Path in = dir.resolve("broken.onnx");
        Files.write(in, new byte[] {0x08, (byte) 0x80});
        byte[] before = Files.readAllBytes(in);
        Path out = dir.resolve("out.onnx");
        CliRun r = CliRun.of("optimize", in.toString(), "-o", out.toString());
        assertEquals(2, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(in.toString()), r.err());
        assertFalse(Files.exists(out));
        assertArrayEquals(before, Files.readAllBytes(in));
    }
}
