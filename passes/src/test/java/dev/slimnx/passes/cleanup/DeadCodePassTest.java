package dev.slimnx.passes.cleanup;

import static dev.slimnx.passes.testing.PassTesting.ATOL;
import static dev.slimnx.passes.testing.PassTesting.RTOL;
import static dev.slimnx.passes.testing.PassTesting.assertIdempotent;
import static dev.slimnx.passes.testing.PassTesting.assertSameOutputs;
import static dev.slimnx.passes.testing.PassTesting.assertUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Function;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeadCodePassTest {
    private static final long SEED = 11;

    private static List<String> ops(Model m) {
        return m.graph().nodes().stream().map(Node::opType).toList();
    }

    private static List<String> initializerNames(Model m) {
        return m.graph().initializers().stream().map(Value::name).toList();
    }

    // ---- nodes and initializers ----

    @Test
    void anUnusedChainGoesWithTheInitializersOnlyItRead() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value w = b.initializer(b.randomFloats("w", 4));
        Value shared = b.initializer(b.randomFloats("shared", 4));
        b.output(b.op("Add", b.op("Relu", x), shared));
        b.op("Tanh", b.op("Sigmoid", b.op("Mul", b.op("Add", x, w), shared)));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new DeadCodePass(), model);

        assertEquals(Map.of("node", 4, "initializer", 1), result.counts());
        assertEquals(List.of("Relu", "Add"), ops(model));
        assertEquals(List.of("shared"), initializerNames(model));
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void aGraphOutputNobodyReadsStays() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value w = b.initializer(b.randomFloats("w", 4));
        b.output(b.op("Relu", x));
        b.output(b.op("Mul", x, w));
        b.output(b.initializer(b.randomFloats("exported", 2)));

        assertUnchanged(new DeadCodePass(), b.build());
    }

    @Test
    void anUnusedInitializerThatIsAGraphInputIsPartOfTheSignature() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value scale = b.input("scale", DataType.FLOAT, 4);
        b.graph().addInitializer(scale, Tensor.ofFloats("scale", new long[] {4}, 1f, 1f, 1f, 1f));
        b.output(b.op("Relu", x));

        assertUnchanged(new DeadCodePass(), b.build());
    }

    @Test
    void aNodeWithAnUnusedOutputStaysWhileAnotherIsRead() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        List<Value> halves = b.node("Split", x, longs(b, "sizes", 2, 2)).attr("axis", 1).outputs(2).build();
        b.output(b.op("Relu", halves.get(0)));

        assertUnchanged(new DeadCodePass(), b.build());
    }

    @Test
    void deadNodesInsideABranchAreRemovedAndFreeTheOuterValuesTheyRead() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value cond = b.input("cond", DataType.BOOL);
        Value outerOnlyForDeadCode = b.op("Sigmoid", x);
        Graph then = new Graph();
        then.setName("then");
        Value thenOut = new Value("then_out");
        then.addNode(new Node("", "Relu", List.of(x), List.of(thenOut), List.of()));
        then.addNode(new Node("", "Neg", List.of(outerOnlyForDeadCode), List.of(new Value("then_dead")), List.of()));
        then.addOutput(thenOut);
        Graph otherwise = new Graph();
        otherwise.setName("else");
        Value elseOut = new Value("else_out");
        otherwise.addNode(new Node("", "Abs", List.of(x), List.of(elseOut), List.of()));
        otherwise.addOutput(elseOut);
        Value picked = new Value("picked");
        b.graph().addNode(new Node("", "If", List.of(cond), List.of(picked), List.of(
                Attribute.ofGraph("then_branch", then), Attribute.ofGraph("else_branch", otherwise))));
        b.output(picked);
        Model model = b.build();

        PassResult result = PassTesting.run(new DeadCodePass(), model);

        assertEquals(Map.of("node", 2), result.counts(), "the Neg in the branch, then the Sigmoid outside");
        assertEquals(List.of("If"), ops(model));
        assertEquals(List.of("Relu"), then.nodes().stream().map(Node::opType).toList());
    }

    @Test
    void aDeadNodeWithSubgraphsTakesTheOuterValuesOnlyItsBranchesReadWithIt() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value cond = b.input("cond", DataType.BOOL);
        Value readInBranch = b.op("Sigmoid", x);
        Value weight = b.initializer(b.randomFloats("w", 3));
        Graph then = new Graph();
        then.setName("then");
        Value thenOut = new Value("then_out");
        then.addNode(new Node("", "Mul", List.of(readInBranch, weight), List.of(thenOut), List.of()));
        then.addOutput(thenOut);
        Graph otherwise = new Graph();
        otherwise.setName("else");
        Value elseOut = new Value("else_out");
        otherwise.addNode(new Node("", "Abs", List.of(x), List.of(elseOut), List.of()));
        otherwise.addOutput(elseOut);
        b.graph().addNode(new Node("", "If", List.of(cond), List.of(new Value("unused")), List.of(
                Attribute.ofGraph("then_branch", then), Attribute.ofGraph("else_branch", otherwise))));
        b.output(b.op("Relu", x));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new DeadCodePass(), model);

        assertEquals(Map.of("node", 2, "initializer", 1), result.counts());
        assertEquals(List.of("Relu"), ops(model));
        assertEquals(List.of(x.uses().get(0).node()), model.graph().nodes(), "x keeps no use from the removed branches");
        assertEquals(1, x.uses().size());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    // ---- duplicate initializers ----

    @Test
    void duplicateWeightsReadByTwoMatMulsBecomeOne() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Tensor w = b.randomFloats("w", 4, 4);
        Value w1 = b.initializer(w.withName("w1"));
        Value w2 = b.initializer(w.withName("w2"));
        Value h = b.op("MatMul", x, w1);
        b.output(b.op("MatMul", h, w2));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new DeadCodePass(), model);

        assertEquals(Map.of("duplicate initializer", 1), result.counts());
        assertEquals(List.of("w1"), initializerNames(model));
        Value kept = model.graph().initializer("w1");
        assertSame(kept, model.graph().nodes().get(0).input(1));
        assertSame(kept, model.graph().nodes().get(1).input(1));
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void initializersThatDifferInTypeDimsOrABitAreNotMerged() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value zeros = b.initializer(Tensor.ofFloats("zeros", new long[] {4}, 0f, 0f, 0f, 0f));
        Value negativeZeros = b.initializer(Tensor.ofFloats("negative_zeros", new long[] {4}, 0f, 0f, 0f, -0f));
        Value square = b.initializer(Tensor.ofFloats("square", new long[] {2, 2}, 0f, 0f, 0f, 0f));
        Value ints = b.initializer(Tensor.ofIntegers("ints", DataType.INT32, new long[] {4}, 0, 0, 0, 0));
        Value y = b.op("Add", b.op("Add", x, zeros), negativeZeros);
        Value z = b.op("Add", b.op("Reshape", y, longs(b, "shape", 2, 2)), square);
        b.output(z);
        b.output(b.op("Add", b.node("Cast", x).attr("to", DataType.INT32.code()).value(), ints));

        assertUnchanged(new DeadCodePass(), b.build());
    }

    @Test
    void duplicatesThatAreGraphInputsOrOutputsAreNotMerged() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Tensor w = b.randomFloats("w", 3);
        Value kept = b.initializer(w.withName("kept"));
        Value asInput = b.input("as_input", DataType.FLOAT, 3);
        b.graph().addInitializer(asInput, w.withName("as_input"));
        Value asOutput = b.initializer(w.withName("as_output"));
        b.output(b.op("Add", b.op("Add", b.op("Add", x, kept), asInput), asOutput));
        b.output(asOutput);

        assertUnchanged(new DeadCodePass(), b.build());
    }

    private static Value longs(GraphBuilder b, String name, long... values) {
        return b.initializer(Tensor.ofLongs(name, new long[] {values.length}, values));
    }

    // ---- value_info and opset imports ----

    @Test
    void valueInfoOfRemovedValuesGoesAndTheRestStays() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value live = b.op("Relu", x);
        Value dead = b.op("Sigmoid", x);
        b.output(b.op("Neg", live));
        ValueType t = ValueType.TensorType.of(DataType.FLOAT, Shape.of(2, 4));
        live.setType(t);
        dead.setType(t);
        Value nowhere = new Value("described_but_never_defined", t);
        b.graph().valueInfos().addAll(List.of(live, dead, nowhere));
        Model model = b.build();

        PassResult result = PassTesting.run(new DeadCodePass(), model);

        assertEquals(Map.of("node", 1, "value_info", 2), result.counts());
        assertEquals(List.of(live), model.graph().valueInfos());
    }

    @Test
    void opsetImportsOfUnusedDomainsGoButTheDefaultAndUsedOnesStay() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.node("Custom", b.op("Relu", x)).domain("used.by.node").value());
        Model model = b.build();
        Graph body = new Graph();
        Value in = new Value("in");
        Value out = new Value("out");
        body.addInput(in);
        body.addNode(new Node("used.in.function", "Inner", List.of(in), List.of(out), List.of()));
        body.addOutput(out);
        Function f = new Function("functions.domain", "Unused", body);
        f.opsetImports().add(OpsetId.of("used.in.function", 1));
        model.functions().add(f);
        model.opsetImports().addAll(List.of(OpsetId.of("used.by.node", 1), OpsetId.of("com.microsoft", 1),
                OpsetId.of("used.in.function", 1), OpsetId.of("functions.domain", 1), OpsetId.of("ai.onnx.ml", 3)));

        PassResult result = PassTesting.run(new DeadCodePass(), model);

        assertEquals(Map.of("opset import", 2), result.counts());
        assertEquals(List.of("", "used.by.node", "used.in.function", "functions.domain"),
                model.opsetImports().stream().map(OpsetId::domain).toList());
    }

    // ---- idempotence and the reference models ----

    @Test
    void aSecondRunChangesNothing() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Tensor w = b.randomFloats("w", 4);
        Value a = b.op("Add", x, b.initializer(w.withName("a")));
        b.op("Exp", b.op("Mul", x, b.initializer(b.randomFloats("dead_weight", 4))));
        b.output(b.op("Add", a, b.initializer(w.withName("c"))));
        Model model = b.build();
        model.opsetImports().add(OpsetId.of("com.microsoft", 1));

        PassResult first = assertIdempotent(new DeadCodePass(), model);

        assertEquals(Map.of("node", 2, "initializer", 1, "duplicate initializer", 1, "opset import", 1),
                first.counts());
    }

    @Test
    void afterFoldingTheReferenceViTSharesItsRepeatedShapeConstants() throws Exception {
        Model model = OnnxReader.read(Path.of("../reference-models/models/vit.onnx"));
        Model before = model.copy();
        new FoldConstantsPass().run(model, PassContext.defaults());
        int initializers = model.graph().initializers().size();

        PassResult result = PassTesting.run(new DeadCodePass(), model);

        int merged = result.counts().getOrDefault("duplicate initializer", 0);
        assertTrue(merged > 0, "PyTorch repeats each Unsqueeze axis and Concat -1: " + result.summary());
        assertEquals(initializers - merged - result.counts().getOrDefault("initializer", 0),
                model.graph().initializers().size());
        assertSameOutputs(before, model, RTOL, ATOL);
        assertUnchanged(new DeadCodePass(), model);
    }
}
