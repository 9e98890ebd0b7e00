package dev.slimnx.graph.infer;

import static dev.slimnx.graph.build.GraphBuilder.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Engine behaviour: merging with declared types, warnings, annotate, unknown ops, subgraphs. */
class ShapeInferenceTest {

    @Test
    void inferDoesNotChangeTheModel() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value y = b.op("Relu", x);
        b.output(b.op("Neg", y));
        InferenceResult r = ShapeInference.infer(b.build());
        assertEquals(shape("batch", 8), r.shapeOf(y));
        assertEquals(DataType.FLOAT, r.elemTypeOf(y));
        assertNull(y.type());
    }

    @Test
    void declaredSymbolicDimIsRefinedByAnInferredKnownOne() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 2, 8);
        Value y = b.output(b.op("Relu", x), DataType.FLOAT, "n", null);
        InferenceResult r = ShapeInference.infer(b.build());
        assertEquals(shape(2, 8), r.shapeOf(y));
        assertEquals(List.of(), r.warnings());
    }

    @Test
    void conflictWithDeclaredTypeIsAWarningAndTheDeclaredTypeIsKept() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 2, 8);
        Value y = b.output(b.op("Relu", x), DataType.FLOAT, 3, 8);
        InferenceResult r = ShapeInference.infer(b.build());
        assertEquals(shape(3, 8), r.shapeOf(y));
        assertEquals(1, r.warnings().size());
        assertTrue(r.warnings().get(0).contains("declared shape [3, 8]"), r.warnings().get(0));
    }

    @Test
    void inconsistentNodeIsAWarningNotAnException() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 2, 8);
        Value w = b.input("w", DataType.FLOAT, 7, 4);
        Value y = b.node("MatMul", x, w).name("mm").value();
        b.output(y);
        InferenceResult r = ShapeInference.infer(b.build());
        assertNull(r.typeOf(y));
        assertTrue(r.warnings().get(0).startsWith("cannot infer MatMul 'mm'"), r.warnings().toString());
    }

    @Test
    void unknownOpsLeaveTheirOutputsUnknownAndInferenceGoesOn() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value custom = b.node("FancyOp", x).domain("com.example").value();
        Value s = b.op("Shape", custom);
        b.output(b.op("Relu", x));
        b.output(s);
        InferenceResult r = ShapeInference.infer(b.build());
        assertNull(r.typeOf(custom));
        assertEquals(DataType.INT64, r.elemTypeOf(s));
        assertEquals(1, r.shapeOf(s).rank());
        assertEquals(List.of(), r.warnings());
    }

    @Test
    void annotateTypesIntermediateValuesOnlyAndLeavesDeclarationsAlone() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value hidden = b.op("Relu", x);
        Value listed = b.op("Neg", hidden);
        Value out = b.op("Abs", listed);
        b.output(out);
        Model m = b.build();
        m.graph().valueInfos().add(listed);
        ShapeInference.annotate(m);
        assertEquals(ValueType.TensorType.of(DataType.FLOAT, shape("batch", 8)), hidden.type());
        assertNull(listed.type());
        assertNull(out.type());
        assertEquals(ValueType.TensorType.of(DataType.FLOAT, shape("batch", 8)), x.type());
    }

    @Test
    void constantNodesAreReadAsConstantInputs() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 6);
        Value target = b.node("Constant").attr(Attribute.ofInts("value_ints", 0, -1)).value();
        Value y = b.op("Reshape", x, target);
        b.output(y);
        InferenceResult r = ShapeInference.infer(b.build());
        assertEquals(shape(2), r.shapeOf(target));
        assertEquals(shape("batch", 24), r.shapeOf(y));
    }

    @Test
    void ifBranchesAreInferredAndAgreeOnTheOutput() {
        GraphBuilder b = new GraphBuilder(17);
        Value cond = b.input("cond", DataType.BOOL);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Graph then = branch("then", x, "Relu", "t");
        Graph other = branch("else", x, "Neg", "e");
        Value y = b.node("If", cond).attr(Attribute.ofGraph("then_branch", then))
                .attr(Attribute.ofGraph("else_branch", other)).value();
        b.output(y);
        InferenceResult r = ShapeInference.infer(b.build());
        assertEquals(shape("batch", 8), r.shapeOf(then.outputs().get(0)));
        assertEquals(shape("batch", 8), r.shapeOf(y));
        assertEquals(DataType.FLOAT, r.elemTypeOf(y));
    }

    private static Graph branch(String name, Value read, String op, String out) {
        Graph g = new Graph();
        g.setName(name);
        Value v = new Value(out);
        g.addNode(new Node("", op, List.of(read), List.of(v), List.of()));
        g.addOutput(v);
        return g;
    }

    @Test
    void loopCarriedValuesKeepWhatInitialAndBodyAgreeOn() {
        GraphBuilder b = new GraphBuilder(17);
        Value trip = b.initializer(Tensor.ofLongs("trip", new long[0], 3));
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Graph body = new Graph();
        Value iter = new Value("i");
        Value condIn = new Value("c_in");
        Value carried = new Value("v_in");
        body.addInput(iter);
        body.addInput(condIn);
        body.addInput(carried);
        Value condOut = new Value("c_out");
        Value next = new Value("v_out");
        body.addNode(new Node("", "Identity", List.of(condIn), List.of(condOut), List.of()));
        body.addNode(new Node("", "Relu", List.of(carried), List.of(next), List.of()));
        body.addOutput(condOut);
        body.addOutput(next);
        List<Value> outs = b.node("Loop", trip, null, x).attr(Attribute.ofGraph("body", body)).build();
        b.output(outs.get(0));
        InferenceResult r = ShapeInference.infer(b.build());
        assertEquals(shape("batch", 8), r.shapeOf(next));
        assertEquals(shape("batch", 8), r.shapeOf(outs.get(0)));
        assertEquals(DataType.BOOL, r.elemTypeOf(condOut));
    }

    @Test
    void intVectorOfShapeOutputCarriesSymbols() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 224, 224);
        Value s = b.op("Shape", x);
        b.output(s);
        InferenceResult r = ShapeInference.infer(b.build());
        assertEquals(List.of(Dim.symbolic("batch"), Dim.of(3), Dim.of(224), Dim.of(224)), r.intsOf(s).values());
    }
}
