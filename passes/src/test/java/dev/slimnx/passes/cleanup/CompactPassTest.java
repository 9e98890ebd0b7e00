package dev.slimnx.passes.cleanup;

import static dev.slimnx.passes.testing.PassTesting.assertIdempotent;
import static dev.slimnx.passes.testing.PassTesting.assertSameOutputs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.TensorAnnotation;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.StringPair;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.ReferenceInputs;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class CompactPassTest {
    private static final long SEED = 5;

    @Test
    void internalValuesGetBase36NamesInFileOrderAndTheSignatureAndNodeNamesStay() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value w = b.initializer(b.randomFloats("/blocks/blocks.0/attn/weight", 4));
        Value sum = b.node("Add", x, w).name("/blocks/blocks.0/attn/Add").value();
        Value relu = b.node("Relu", sum).name("/blocks/blocks.0/act/Relu").value();
        b.output(b.op("Neg", relu));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = assertIdempotent(new CompactPass(), model);

        assertEquals(Map.of("value", 3, "node name", 2), result.counts(), "the weight, the Add and the Relu outputs");
        Graph g = model.graph();
        assertEquals(List.of("0"), g.initializers().stream().map(Value::name).toList());
        assertEquals(List.of("1", "2"), List.of(g.nodes().get(0).output(0).name(), g.nodes().get(1).output(0).name()));
        assertEquals(List.of("x"), g.inputs().stream().map(Value::name).toList());
        assertEquals(before.graph().outputs().get(0).name(), g.outputs().get(0).name());
        assertEquals(List.of("/blocks.0/attn/Add", "/blocks.0/act/Relu"),
                g.nodes().subList(0, 2).stream().map(Node::name).toList());
        assertSameOutputs(before, model, 0, 0);
    }

    @Test
    void aShortNameAKeptValueAlreadyHasIsSkipped() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("0", DataType.FLOAT, 3);
        Value y = b.op("Relu", b.op("Neg", x));
        b.output(y, DataType.FLOAT, 3);
        y.setName("1");
        Model model = b.build();

        assertIdempotent(new CompactPass(), model);

        Value neg = model.graph().nodes().get(0).output(0);
        assertEquals("2", neg.name(), "0 and 1 are the graph's input and output");
    }

    @Test
    void valuesReadInsideABranchAreRenamedWhereTheBranchReadsThemAndTheModelStillRuns() throws Exception {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value cond = b.input("cond", DataType.BOOL);
        Value outer = b.op("Sigmoid", x);
        Graph then = new Graph();
        then.setName("then");
        Value thenOut = new Value("then_out");
        then.addNode(new Node("", "Neg", List.of(outer), List.of(thenOut), List.of()));
        then.addOutput(thenOut);
        Graph otherwise = new Graph();
        otherwise.setName("else");
        Value elseOut = new Value("else_out");
        otherwise.addNode(new Node("", "Abs", List.of(outer), List.of(elseOut), List.of()));
        otherwise.addOutput(elseOut);
        Value picked = new Value("picked");
        b.graph().addNode(new Node("", "If", List.of(cond), List.of(picked), List.of(
                Attribute.ofGraph("then_branch", then), Attribute.ofGraph("else_branch", otherwise))));
        b.output(picked, DataType.FLOAT, 3);
        Model model = b.build();
        Model before = model.copy();

        assertIdempotent(new CompactPass(), model);

        assertEquals("0", outer.name());
        assertEquals("then_out", thenOut.name(), "a branch's own values keep their names");
        Model reread = OnnxReader.read(OnnxWriter.toBytes(model), "compact.onnx");
        assertEquals("0", reread.graph().nodes().get(1).subgraphs().get(0).nodes().get(0).input(0).name());
        assertSameOutputs(before, model, 0, 0);
    }

    @Test
    void quantizationAnnotationsFollowTheirTensors() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value y = b.op("Relu", x);
        b.output(b.op("Neg", y));
        Model model = b.build();
        String old = y.name();
        model.graph().setQuantizationAnnotations(List.of(
                new TensorAnnotation(old, List.of(new StringPair("SCALE_TENSOR", "s")), OpaqueFields.NONE)));

        assertIdempotent(new CompactPass(), model);

        assertEquals(y.name(), model.graph().quantizationAnnotations().get(0).tensorName());
        assertNotEquals(old, y.name());
    }

    @Test
    void scopesAreDroppedOnlyWhereTheNextSegmentExtendsThem() {
        assertEquals("/stages.0.2/m/Mul", CompactPass.withoutRepeatedScopes("/stages/stages.0/stages.0.2/m/Mul"));
        assertEquals("/head/Gemm", CompactPass.withoutRepeatedScopes("/head/Gemm"));
        assertEquals("/a/ab/Op", CompactPass.withoutRepeatedScopes("/a/ab/Op"), "ab does not extend a with a dot");
        assertEquals("", CompactPass.withoutRepeatedScopes(""));
        assertEquals("Conv_3", CompactPass.withoutRepeatedScopes("Conv_3"));
    }

    @Test
    void aShortenedNodeNameThatWouldClashKeepsItsForm() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value y = b.node("Relu", x).name("/a/a.b/Op").value();
        b.output(b.node("Neg", y).name("/a.b/Op").value());
        Model model = b.build();

        assertIdempotent(new CompactPass(), model);

        assertEquals(List.of("/a/a.b/Op", "/a.b/Op"), model.graph().nodes().stream().map(Node::name).toList());
    }

    @Test
    void convAndGemmAttributesEqualToTheirDefaultsGoAndTheOthersStay() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 1, 2, 5, 5);
        Value w = b.initializer(b.randomFloats("w", 4, 2, 3, 3));
        Value conv = b.node("Conv", x, w).ints("dilations", 1, 1).ints("strides", 1, 1).ints("pads", 1, 1, 1, 1)
                .attr("group", 1L).ints("kernel_shape", 3, 3).value();
        Value flat = b.node("Flatten", conv).attr("axis", 1L).value();
        Value g = b.initializer(b.randomFloats("g", 100, 3));
        Value gemm = b.node("Gemm", flat, g).attr("alpha", 1f).attr("beta", 1f).attr("transB", 0L).value();
        b.output(b.node("Softmax", gemm).attr("axis", -1L).value());
        Model model = b.build();
        Model before = model.copy();

        PassResult result = assertIdempotent(new CompactPass(), model);

        assertEquals(9, result.counts().get("default attribute"), "4 of Conv's, Flatten's axis, 3 of Gemm's, Softmax's axis");
        List<Node> nodes = model.graph().nodes();
        assertEquals(List.of("pads"), nodes.get(0).attributes().stream().map(a -> a.name()).toList());
        assertTrue(nodes.get(3).attributes().isEmpty());
        assertSameOutputs(before, model, 0, 0);
    }

    @Test
    void softmaxAxisBeforeOpset13IsNotADefault() {
        GraphBuilder b = new GraphBuilder(11, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        b.output(b.node("Softmax", x).attr("axis", -1L).value());
        Model model = b.build();

        new CompactPass().run(model, dev.slimnx.passes.PassContext.defaults());

        assertEquals(1, model.graph().nodes().get(0).attributes().size(), "opset 11's default axis is 1");
    }

    @Test
    void everyReferenceModelKeepsItsOutputsBitForBitAndShrinks() throws Exception {
        ReferenceModels registry = ReferenceModels.locate();
        for (ReferenceModel ref : registry.all()) {
            Model original = OnnxReader.read(ref.file());
            Model compact = original.copy();
            assertIdempotent(new CompactPass(), compact);

            Set<String> names = compact.graph().valuesByName().keySet().stream()
                    .filter(n -> compact.graph().inputs().stream().noneMatch(v -> v.name().equals(n)))
                    .filter(n -> compact.graph().outputs().stream().noneMatch(v -> v.name().equals(n)))
                    .collect(Collectors.toSet());
            assertTrue(names.stream().allMatch(n -> n.matches("[0-9a-z]{1,3}")), ref.name() + ": " + names);
            long before = OnnxWriter.toBytes(original).length;
            long after = OnnxWriter.toBytes(compact).length;
            assertTrue(after < before, ref.name() + ": " + before + " -> " + after + " bytes");
            Map<String, Tensor> feeds = ReferenceInputs.feeds(registry, ref, 2);
            assertSameOutputs(original, compact, feeds, 0, 0);
        }
    }
}
