package dev.slimnx.graph.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Function;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import java.util.List;
import org.junit.jupiter.api.Test;

class GraphCheckerTest {

    private static List<Issue> errors(Model m) {
        return GraphChecker.check(m).stream().filter(Issue::isError).toList();
    }

    private static Issue onlyError(Model m) {
        List<Issue> errors = errors(m);
        assertEquals(1, errors.size(), () -> "expected one error, got " + errors);
        return errors.get(0);
    }

    @Test
    void wellFormedModelHasNoIssues() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value w = b.initializer(b.randomFloats("w", 8, 4));
        b.output(b.op("Relu", b.op("MatMul", x, w)));
        assertEquals(List.of(), GraphChecker.check(b.build()));
    }

    @Test
    void undefinedInputIsNamedWithNodeAndIndex() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value ghost = new Value("ghost");
        b.output(b.node("Add", x, ghost).name("add0").value());
        Issue e = onlyError(b.build());
        assertEquals(0, e.nodeIndex());
        assertEquals("Add 'add0'", e.node());
        assertTrue(e.message().contains("input 1 'ghost' is not defined"), e.message());
        assertTrue(e.toString().startsWith("ERROR in graph 'graph', node #0 (Add 'add0')"), e.toString());
    }

    @Test
    void outOfOrderNodesAreReportedAsTopologicalError() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        Graph g = b.graph();
        Value mid = new Value("mid");
        Value y = new Value("y");
        g.addNode(new Node("", "Relu", List.of(mid), List.of(y), List.of()));
        g.addNode(new Node("", "Neg", List.of(x), List.of(mid), List.of()));
        g.addOutput(y);
        Issue e = onlyError(b.build());
        assertEquals(0, e.nodeIndex());
        assertTrue(e.message().contains("produced later, by node #1"), e.message());
    }

    @Test
    void twoValuesWithOneNameViolateSingleAssignment() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        Graph g = b.graph();
        Value a = new Value("t");
        Value c = new Value("t");
        g.addNode(new Node("", "Neg", List.of(x), List.of(a), List.of()));
        g.addNode(new Node("", "Abs", List.of(x), List.of(c), List.of()));
        g.addOutput(c);
        Issue e = onlyError(b.build());
        assertEquals(1, e.nodeIndex());
        assertTrue(e.message().contains("'t' (output of node #1) is defined twice"), e.message());
    }

    @Test
    void duplicateNodeNameIsAWarning() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value y = b.node("Neg", x).name("n").value();
        b.graph().nodes().get(0).setName("same");
        Value z = b.node("Abs", y).name("m").value();
        b.graph().nodes().get(1).setName("same");
        b.output(z);
        List<Issue> issues = GraphChecker.check(b.build());
        assertEquals(1, issues.size());
        assertEquals(Issue.Severity.WARNING, issues.get(0).severity());
        assertTrue(issues.get(0).message().contains("also the name of node #0"));
    }

    @Test
    void arityIsCheckedAgainstTheVersionInForce() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.op("Add", x));
        Issue e = onlyError(b.build());
        assertTrue(e.message().contains("Add-14 takes 2 inputs, the node has 1"), e.message());
    }

    @Test
    void clipTakesOneInputBeforeOpset11AndUpToThreeAfter() {
        GraphBuilder old = new GraphBuilder(10);
        Value x = old.input("x", DataType.FLOAT, 4);
        Value lo = old.initializer(old.randomFloats("lo"));
        old.output(old.op("Clip", x, lo));
        assertTrue(onlyError(old.build()).message().contains("Clip-6 takes 1 inputs, the node has 2"));

        GraphBuilder now = new GraphBuilder(13);
        Value x2 = now.input("x", DataType.FLOAT, 4);
        Value lo2 = now.initializer(now.randomFloats("lo"));
        now.output(now.op("Clip", x2, lo2));
        assertEquals(List.of(), errors(now.build()));
    }

    @Test
    void trailingOmittedInputsDoNotCountAsPresent() {
        GraphBuilder b = new GraphBuilder(13);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.op("Clip", x, null, null));
        assertEquals(List.of(), errors(b.build()));
        GraphBuilder c = new GraphBuilder(13);
        Value y = c.input("x", DataType.FLOAT, 4);
        c.output(c.op("Clip", y, null, null, null));
        assertTrue(onlyError(c.build()).message().contains("Clip-13 takes 1 to 3 inputs, the node has 4"));
    }

    @Test
    void missingRequiredAttributeIsNamed() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.op("Cast", x));
        assertTrue(onlyError(b.build()).message().contains("Cast-13 requires attribute 'to'"));
    }

    @Test
    void opNewerThanTheImportedOpsetIsAnError() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.op("Gelu", x));
        Issue e = onlyError(b.build());
        assertTrue(e.message().contains("Gelu does not exist at the imported opset 17"), e.message());
        assertTrue(e.message().contains("exists from opset 20"), e.message());
    }

    @Test
    void removedOpIsAnError() {
        GraphBuilder b = new GraphBuilder(10);
        Value x = b.input("x", DataType.FLOAT, 1, 1, 2, 2);
        Value s = b.initializer(b.randomFloats("s", 4));
        b.output(b.op("Upsample", x, s));
        assertTrue(onlyError(b.build()).message().contains("was removed at opset 10"));
    }

    @Test
    void opsetImportsAreChecked() {
        GraphBuilder b = new GraphBuilder(99);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.op("Relu", x));
        Model m = b.build();
        assertTrue(onlyError(m).message().contains("opset 99, outside the known range [1, 25]"));
        m.opsetImports().set(0, OpsetId.of("", 17));
        m.opsetImports().add(OpsetId.of("ai.onnx", 18));
        assertTrue(onlyError(m).message().contains("imported more than once"));
    }

    @Test
    void unimportedDomainIsAnError() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.node("FusedGelu", x).domain("com.microsoft").value());
        assertTrue(onlyError(b.build()).message().contains("domain 'com.microsoft' is not imported"));
    }

    @Test
    void unknownDefaultDomainOpIsOnlyAWarning() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.op("Frobnicate", x));
        List<Issue> issues = GraphChecker.check(b.build());
        assertEquals(1, issues.size());
        assertEquals(Issue.Severity.WARNING, issues.get(0).severity());
    }

    @Test
    void graphOutputMustBeDefined() {
        GraphBuilder b = new GraphBuilder(17);
        b.input("x", DataType.FLOAT, 4);
        b.graph().addOutput(new Value("nowhere"));
        Issue e = onlyError(b.build());
        assertEquals(-1, e.nodeIndex());
        assertTrue(e.message().contains("graph output 0 'nowhere' is not defined"));
    }

    private static Graph branch(String name, Value read, String outName) {
        Graph g = new Graph();
        g.setName(name);
        Value out = new Value(outName);
        g.addNode(new Node("", "Neg", List.of(read), List.of(out), List.of()));
        g.addOutput(out);
        return g;
    }

    @Test
    void subgraphsMayReadEnclosingValuesButNotRedefineThem() {
        GraphBuilder b = new GraphBuilder(17);
        Value cond = b.input("cond", DataType.BOOL);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value y = b.node("If", cond)
                .attr(Attribute.ofGraph("then_branch", branch("then", x, "t")))
                .attr(Attribute.ofGraph("else_branch", branch("else", x, "x")))
                .name("if0").value();
        b.output(y);
        Issue e = onlyError(b.build());
        assertTrue(e.graphPath().endsWith("node #0 (If 'if0').else_branch"), e.graphPath());
        assertTrue(e.message().contains("'x' (output of node #0) redefines a value of an enclosing graph"), e.message());
    }

    @Test
    void subgraphReadingAValueProducedLaterIsOutOfOrder() {
        GraphBuilder b = new GraphBuilder(17);
        Value cond = b.input("cond", DataType.BOOL);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value late = new Value("late");
        Value y = b.node("If", cond)
                .attr(Attribute.ofGraph("then_branch", branch("then", late, "t")))
                .attr(Attribute.ofGraph("else_branch", branch("else", x, "e")))
                .value();
        b.graph().addNode(new Node("", "Abs", List.of(x), List.of(late), List.of()));
        b.output(y);
        Issue e = onlyError(b.build());
        assertTrue(e.graphPath().contains(".then_branch"), e.graphPath());
        assertTrue(e.message().contains("produced later, by node #1 of graph 'graph'"), e.message());
    }

    @Test
    void functionBodiesAreCheckedAndTheirCallsAccepted() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.node("Twice", x).domain("local").value());
        Model m = b.build();
        Graph body = new Graph();
        Value in = new Value("in");
        body.addInput(in);
        Value out = new Value("out");
        body.addNode(new Node("", "Add", List.of(in), List.of(out), List.of()));
        body.addOutput(out);
        m.functions().add(new Function("local", "Twice", body));
        Issue e = onlyError(m);
        assertTrue(e.graphPath().equals("function 'local::Twice'"), e.graphPath());
        assertTrue(e.message().contains("Add-14 takes 2 inputs"), e.message());
    }

    @Test
    void checkOrThrowListsEveryError() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4);
        b.output(b.op("Cast", b.op("Add", x)));
        InvalidModelException ex = assertThrows(InvalidModelException.class, () -> GraphChecker.checkOrThrow(b.build()));
        assertEquals(2, ex.errors().size());
        assertTrue(ex.getMessage().startsWith("2 error(s) in the model:"), ex.getMessage());
        assertTrue(ex.getMessage().contains("requires attribute 'to'"));
    }
}
