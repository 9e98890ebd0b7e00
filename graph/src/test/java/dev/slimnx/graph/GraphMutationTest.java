package dev.slimnx.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.tensor.SparseTensor;
import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Use-lists, container flags, node removal, topological order and fresh names under mutation. */
class GraphMutationTest {
    private Graph g;
    private Value x;
    private Value w;
    private Node add;
    private Node mul;
    private Value a;
    private Value b;

    /** x, w → Add → a; (a, x) → Mul → b; b is the graph output. */
    @BeforeEach
    void build() {
        g = new Graph();
        x = new Value("x");
        g.addInput(x);
        w = g.addInitializer(Tensor.ofFloats("w", new long[] {1}, 2f));
        a = new Value("a");
        add = new Node("", "Add", List.of(x, w), List.of(a), List.of());
        g.addNode(add);
        b = new Value("b");
        mul = new Node("", "Mul", List.of(a, x), List.of(b), List.of());
        g.addNode(mul);
        g.addOutput(b);
    }

    private static List<Use> uses(Object... nodeAndIndex) {
        List<Use> out = new ArrayList<>();
        for (int i = 0; i < nodeAndIndex.length; i += 2) {
            out.add(new Use((Node) nodeAndIndex[i], (Integer) nodeAndIndex[i + 1]));
        }
        return out;
    }

    // ---- use-lists ----

    @Test
    void constructionRecordsEveryUse() {
        assertEquals(uses(add, 0, mul, 1), x.uses());
        assertEquals(uses(add, 1), w.uses());
        assertEquals(uses(mul, 0), a.uses());
        assertEquals(List.of(), b.uses());
        assertSame(add, a.producer());
        assertEquals(0, a.producerIndex());
        assertNull(x.producer());
    }

    @Test
    void setInputMovesTheUse() {
        mul.setInput(1, w);
        assertEquals(uses(add, 0), x.uses());
        assertEquals(uses(add, 1, mul, 1), w.uses());
        mul.setInput(1, null);
        assertEquals(uses(add, 1), w.uses());
        assertNull(mul.input(1));
        mul.setInput(1, x);
        assertEquals(uses(add, 0, mul, 1), x.uses());
        mul.setInput(1, x); // same value: nothing changes
        assertEquals(uses(add, 0, mul, 1), x.uses());
    }

    @Test
    void aValueReadTwiceByOneNodeHasTwoUses() {
        add.setInput(1, x);
        assertEquals(uses(add, 0, mul, 1, add, 1), x.uses());
        add.setInput(0, w);
        assertEquals(uses(mul, 1, add, 1), x.uses());
        assertEquals(uses(add, 0), w.uses());
    }

    @Test
    void addAndRemoveLastInput() {
        mul.addInput(w);
        mul.addInput(null);
        assertEquals(uses(add, 1, mul, 2), w.uses());
        assertEquals(4, mul.inputs().size());
        mul.removeLastInput(); // the null slot
        assertEquals(uses(add, 1, mul, 2), w.uses());
        mul.removeLastInput();
        assertEquals(uses(add, 1), w.uses());
        assertEquals(List.of(a, x), mul.inputs());
    }

    @Test
    void replaceAllUsesWithRepointsUsesButNotGraphOutputs() {
        Value c = new Value("c");
        Node neg = new Node("", "Neg", List.of(b), List.of(c), List.of());
        g.addNode(neg);
        Value y = new Value("y");
        g.addNode(new Node("", "Identity", List.of(x), List.of(y), List.of()));

        b.replaceAllUsesWith(y);

        assertEquals(List.of(), b.uses());
        assertEquals(uses(neg, 0), y.uses());
        assertSame(y, neg.input(0));
        assertEquals(List.of(b), g.outputs()); // still the caller-visible output
        assertTrue(b.isGraphOutput());
        assertFalse(y.isGraphOutput());
    }

    @Test
    void replaceAllUsesWithItselfChangesNothing() {
        x.replaceAllUsesWith(x);
        assertEquals(uses(add, 0, mul, 1), x.uses());
    }

    // ---- node removal ----

    @Test
    void removeNodeRefusesUsedOutputsAndGraphOutputs() {
        IllegalStateException used = assertThrows(IllegalStateException.class, () -> g.removeNode(add));
        assertTrue(used.getMessage().contains("used by 1 node"), used.getMessage());
        IllegalStateException output = assertThrows(IllegalStateException.class, () -> g.removeNode(mul));
        assertTrue(output.getMessage().contains("graph output"), output.getMessage());
        // Nothing changed on refusal.
        assertEquals(List.of(add, mul), g.nodes());
        assertEquals(uses(add, 0, mul, 1), x.uses());
    }

    @Test
    void removeNodeDropsItsUses() {
        g.replaceOutput(0, a);
        g.removeNode(mul);
        assertEquals(List.of(add), g.nodes());
        assertEquals(uses(add, 0), x.uses());
        assertEquals(List.of(), a.uses());
        assertNull(mul.graph());
        assertFalse(b.isGraphOutput());
        assertTrue(a.isGraphOutput());
        assertThrows(IllegalArgumentException.class, () -> g.removeNode(mul));
    }

    @Test
    void aNodeCannotBeInTwoGraphs() {
        Graph other = new Graph();
        assertThrows(IllegalArgumentException.class, () -> other.addNode(add));
        assertSame(g, add.graph());
    }

    @Test
    void anOutputCannotHaveTwoProducers() {
        assertThrows(IllegalArgumentException.class, () -> new Node("", "Relu", List.of(x), List.of(a), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new Node("", "Relu", List.of(a), List.of(x), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new Node("", "Relu", List.of(a), List.of(w), List.of()));
        assertSame(add, a.producer());
    }

    // ---- container flags ----

    @Test
    void inputFlagsFollowTheList() {
        assertTrue(x.isGraphInput());
        assertSame(g, x.graph());
        g.removeInput(x);
        assertFalse(x.isGraphInput());
        assertEquals(List.of(), g.inputs());
        g.removeInput(x); // not an input: no change
        assertFalse(x.isGraphInput());
        assertThrows(IllegalArgumentException.class, () -> g.addInput(a)); // has a producer
    }

    @Test
    void outputCountsFollowTheList() {
        g.addOutput(b); // the same value listed twice
        g.addOutput(a);
        assertEquals(List.of(b, b, a), g.outputs());
        g.removeOutput(0);
        assertTrue(b.isGraphOutput());
        g.replaceOutput(0, x);
        assertFalse(b.isGraphOutput());
        assertTrue(x.isGraphOutput());
        assertTrue(x.isGraphInput());
        g.removeOutput(1);
        assertFalse(a.isGraphOutput());
        assertEquals(List.of(x), g.outputs());
    }

    @Test
    void initializerFlagsFollowTheMap() {
        assertTrue(w.isInitializer());
        assertSame(w.initializer(), w.constant());
        assertThrows(IllegalArgumentException.class, () -> g.addInitializer(Tensor.ofFloats("w", new long[] {1}, 3f)));
        assertThrows(IllegalArgumentException.class, () -> g.addInitializer(a, Tensor.ofFloats("a", new long[] {1}, 3f)));

        // An initializer that is also an input is a default, not a constant.
        g.addInitializer(x, Tensor.ofFloats("t", new long[] {1}, 5f));
        assertTrue(x.isInitializer());
        assertEquals("x", x.initializer().name());
        assertNull(x.constant());

        g.removeInitializer(w);
        assertFalse(w.isInitializer());
        assertNull(w.initializer());
        assertNull(g.initializer("w"));
        assertEquals(List.of(x), List.copyOf(g.initializers()));
    }

    @Test
    void sparseInitializerKeepsTheFlagWhenTheDenseOneGoes() {
        Value s = new Value("s");
        g.addSparseInitializer(s, new SparseTensor(Tensor.ofFloats("s", new long[] {1}, 1f),
                Tensor.ofLongs("i", new long[] {1}, 0), new long[] {4}, OpaqueFields.NONE));
        assertTrue(s.isInitializer());
        assertEquals(List.of(s), g.sparseInitializers());
        g.addInitializer(s, Tensor.ofFloats("s", new long[] {1}, 1f));
        g.removeInitializer(s);
        assertTrue(s.isInitializer());
    }

    @Test
    void renameInitializerKeepsPositionAndRefusesCollisions() {
        Value v = g.addInitializer(Tensor.ofFloats("v", new long[] {1}, 1f));
        g.renameInitializer(w, "w_renamed");
        assertEquals(List.of("w_renamed", "v"), g.initializers().stream().map(Value::name).toList());
        assertSame(w, g.initializer("w_renamed"));
        assertEquals("w_renamed", w.initializer().name());
        assertThrows(IllegalArgumentException.class, () -> g.renameInitializer(w, "v"));
        assertSame(v, g.initializer("v"));
        assertSame(w, g.initializer("w_renamed"));
        assertThrows(IllegalArgumentException.class, () -> g.renameInitializer(a, "z"));
        assertEquals("a", a.name());
    }

    // ---- topological order ----

    @Test
    void sortIsStableAndFixesOrder() {
        Value c = new Value("c");
        Node first = new Node("", "Neg", List.of(b), List.of(c), List.of());
        g.insertBefore(add, first); // reads b before its producer
        Value d = new Value("d");
        Node independent = new Node("", "Neg", List.of(x), List.of(d), List.of());
        g.insertAfter(first, independent);
        assertEquals(List.of(first, independent, add, mul), g.nodes());

        g.sortTopologically();
        // Ready nodes keep their old relative order: independent, add, mul, then first.
        assertEquals(List.of(independent, add, mul, first), g.nodes());
        g.sortTopologically();
        assertEquals(List.of(independent, add, mul, first), g.nodes());
    }

    @Test
    void cyclesAreDetected() {
        add.setInput(1, b);
        assertNull(g.topologicalOrder());
        assertThrows(IllegalStateException.class, () -> g.sortTopologically());
        assertEquals(List.of(add, mul), g.nodes());
    }

    @Test
    void subgraphReadsCountAsDependencies() {
        Graph body = new Graph();
        Value inner = new Value("inner");
        body.addNode(new Node("", "Identity", List.of(b), List.of(inner), List.of()));
        body.addOutput(inner);
        Value out = new Value("if_out");
        Node ifNode = new Node("", "If", List.of(x), List.of(out), List.of(Attribute.ofGraph("then_branch", body)));
        g.insertBefore(add, ifNode);
        g.sortTopologically();
        assertEquals(List.of(add, mul, ifNode), g.nodes());
        assertSame(ifNode, body.parentNode());
        assertSame(g, body.parentGraph());
    }

    @Test
    void aSubgraphReadingItsOwnersOutputIsACycle() {
        Graph body = new Graph();
        Value out = new Value("if_out");
        Value inner = new Value("inner");
        body.addNode(new Node("", "Identity", List.of(out), List.of(inner), List.of()));
        body.addOutput(inner);
        g.addNode(new Node("", "If", List.of(x), List.of(out), List.of(Attribute.ofGraph("then_branch", body))));
        assertNull(g.topologicalOrder());
    }

    // ---- names ----

    @Test
    void freshNamesAvoidEveryNameInUse() {
        add.setName("add");
        NameGenerator names = g.names();
        assertEquals("c", names.fresh("c"));
        assertEquals("c_1", names.fresh("c"));
        assertEquals("x_1", names.fresh("x"));
        assertEquals("add_1", names.fresh("add"));
        assertEquals("w_1", names.fresh("w"));
        assertEquals("b_1", names.fresh("b"));
    }

    @Test
    void freshNamesSeeValuesAddedOrRenamedAfterTheFirstCall() {
        NameGenerator names = g.names();
        assertEquals("p", names.fresh("p"));
        g.addInput(new Value("q"));
        assertEquals("q_1", names.fresh("q"));
        g.addInitializer(Tensor.ofFloats("r", new long[] {1}, 1f));
        assertEquals("r_1", names.fresh("r"));
        a.setName("s");
        assertEquals("s_1", names.fresh("s"));
        b.setName("t_1");
        assertEquals("t", names.fresh("t"));
        assertEquals("t_2", names.fresh("t"));
    }

    @Test
    void freshNamesSeeNodesAddedAfterTheFirstCall() {
        // a node added while the cache is current joins it; one renamed afterwards still counts
        NameGenerator names = g.names();
        assertEquals("n", names.fresh("n"));
        Node n = new Node("", "Identity", List.of(x), List.of(new Value("m")), List.of());
        n.setName("k");
        g.addNode(n);
        assertEquals("m_1", names.fresh("m"));
        assertEquals("k_1", names.fresh("k"));
        n.output(0).setName("m2");
        assertEquals("m2_1", names.fresh("m2"));
        g.addInitializer(Tensor.ofFloats("w2", new long[] {1}, 1f));
        assertEquals("w2_1", names.fresh("w2"));
    }

    @Test
    void aGraphMovedUnderANodeSeesItsNewOuterScope() {
        Graph body = new Graph();
        body.addInput(new Value("i"));
        assertEquals("y", body.names().fresh("y")); // its cache now holds its own names only
        g.addNode(new Node("", "Loop", List.of(), List.of(new Value("o")), List.of(Attribute.ofGraph("body", body))));
        assertEquals("x_1", body.names().fresh("x"));
        assertEquals("o_1", body.names().fresh("o"));
    }

    @Test
    void subgraphNamesAvoidOuterScopeAndOuterNamesAvoidSubgraphs() {
        Graph body = new Graph();
        Value iter = new Value("iter");
        body.addInput(iter);
        Value inner = new Value("inner");
        body.addNode(new Node("", "Add", List.of(iter, x), List.of(inner), List.of()));
        body.addOutput(inner);
        Value out = new Value("loop_out");
        g.addNode(new Node("", "Loop", List.of(), List.of(out), List.of(Attribute.ofGraph("body", body))));

        assertEquals("x_1", body.names().fresh("x")); // outer value read inside
        assertEquals("a_1", body.names().fresh("a"));
        assertEquals("loop_out_1", body.names().fresh("loop_out"));
        assertEquals("iter_1", g.names().fresh("iter")); // would be shadowed by the body's input
        assertEquals("inner_1", g.names().fresh("inner"));

        g.addInput(new Value("late"));
        assertEquals("late_1", body.names().fresh("late"));
    }

    @Test
    void manyFreshNamesNeverCollide() {
        Set<String> seen = new HashSet<>(g.valuesByName().keySet());
        NameGenerator names = g.names();
        for (int i = 0; i < 300; i++) {
            String n = names.fresh(i % 3 == 0 ? "v" : i % 3 == 1 ? "v_1" : "x");
            assertTrue(seen.add(n), n + " issued twice");
            if (i % 7 == 0) {
                g.addNode(new Node("", "Identity", List.of(x), List.of(new Value(n + "_1")), List.of()));
                seen.add(n + "_1");
            }
        }
    }
}
