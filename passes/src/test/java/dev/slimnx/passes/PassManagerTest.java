package dev.slimnx.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PassManagerTest {

    /** Removes one Identity per run: needs as many rounds as there are Identities. */
    private static final class RemoveOneIdentity implements Pass {
        @Override
        public String id() {
            return "remove-one-identity";
        }

        @Override
        public PassResult run(Model model, PassContext context) {
            RewriteCounter counter = new RewriteCounter(id());
            for (Node n : model.graph().nodes()) {
                if (n.is("Identity") && GraphEdits.replace(n.output(0), n.input(0))) {
                    GraphEdits.removeNodeAndUnusedConstants(n);
                    counter.count("Identity");
                    break;
                }
            }
            return counter.result();
        }
    }

    private static Model chainOfIdentities(int count) {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value y = b.op("Relu", x);
        for (int i = 0; i < count; i++) {
            y = b.op("Identity", y);
        }
        b.output(y);
        return b.build();
    }

    @Test
    void repeatsUntilARoundChangesNothing() {
        Model model = chainOfIdentities(3);
        String outputName = model.graph().outputs().get(0).name();
        PassManager.Outcome outcome = new PassManager(List.of(new RemoveOneIdentity()),
                PassManager.Options.untilFixedPoint().checked()).run(model, PassContext.defaults());
        assertEquals(4, outcome.rounds(), "three rounds that remove one Identity each, a fourth that finds none");
        assertEquals(List.of(new PassResult("remove-one-identity", true, Map.of("Identity", 3))), outcome.perPass());
        assertEquals(1, model.graph().nodes().size());
        assertEquals(outputName, model.graph().outputs().get(0).name(), "the graph output keeps its name");
    }

    @Test
    void runsOnceWhenAskedTo() {
        Model model = chainOfIdentities(3);
        PassManager.Outcome outcome = new PassManager(List.of(new RemoveOneIdentity()), PassManager.Options.once())
                .run(model, PassContext.defaults());
        assertEquals(1, outcome.rounds());
        assertEquals(3, model.graph().nodes().size());
    }

    @Test
    void aFailureNamesThePassAndThoseThatRanBefore() {
        Pass broken = new Pass() {
            @Override
            public String id() {
                return "broken";
            }

            @Override
            public PassResult run(Model model, PassContext context) {
                Node relu = model.graph().nodes().get(0);
                relu.setInput(0, new Value("nowhere"));
                return PassResult.of(id(), Map.of("damage", 1));
            }
        };
        Model model = chainOfIdentities(1);
        PassFailedException e = assertThrows(PassFailedException.class, () -> new PassManager(
                List.of(new RemoveOneIdentity(), broken), PassManager.Options.once().checked())
                .run(model, PassContext.defaults()));
        assertEquals("broken", e.passId());
        assertEquals(List.of("remove-one-identity"), e.ranBefore());
        assertTrue(e.getMessage().startsWith("pass broken failed (after remove-one-identity): left an invalid model"),
                e.getMessage());
    }

    @Test
    void aRefusalComesBeforeAnyPassRuns() {
        Pass refuses = new Pass() {
            @Override
            public String id() {
                return "picky";
            }

            @Override
            public void requires(Model model) {
                throw new PassRefusedException(id(), "control flow is not supported");
            }

            @Override
            public PassResult run(Model model, PassContext context) {
                throw new AssertionError("must not run");
            }
        };
        Model model = chainOfIdentities(2);
        assertThrows(PassRefusedException.class, () -> new PassManager(List.of(new RemoveOneIdentity(), refuses),
                PassManager.Options.once()).run(model, PassContext.defaults()));
        assertEquals(3, model.graph().nodes().size(), "nothing ran");
    }

    @Test
    void resultsSayWhetherAnythingChangedInCountingOrder() {
        assertFalse(PassResult.of("p", Map.of("x", 0)).changed(), "a zero count is no change");
        assertEquals("no change", PassResult.unchanged("p").summary());
        RewriteCounter counter = new RewriteCounter("p");
        counter.count("b");
        counter.count("a");
        counter.countIf("b", true);
        counter.countIf("c", false);
        PassResult result = counter.result();
        assertTrue(result.changed());
        assertEquals("b 2, a 1", result.summary());
        assertEquals(3, result.total());
    }

    @Test
    void countsAddUpInBulk() {
        RewriteCounter counter = new RewriteCounter("p");
        counter.count("values", 0);
        assertFalse(counter.any(), "counting zero counts nothing");
        counter.count("values", 3);
        counter.count("values");
        assertEquals(Map.of("values", 4), counter.result().counts());
        assertThrows(IllegalArgumentException.class, () -> counter.count("values", -1));
    }
}
