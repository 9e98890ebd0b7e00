package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The search on a made-up model of sensitivity: quantizing node i costs {@code cost[i]} top-1
 * points, independently, so the right answer is known: keep the costliest nodes in float until the
 * remaining cost fits the budget.
 */
class QuantizationSearchTest {
    private static final double FLOAT_TOP1 = 0.90;
    private final double[] cost = {0.05, 1.5, 0.1, 0.8, 0.02, 0.3};
    private final List<Set<String>> quantized = new ArrayList<>();

    /** A variant is a model whose doc string lists the nodes kept in float. */
    private final QuantizationSearch.Quantizer quantizer = (source, keep) -> {
        Model m = new GraphBuilder(17).build();
        m.setDocString(String.join(",", keep));
        quantized.add(keep);
        return m;
    };

    private final QuantizationSearch.Evaluator evaluator = new QuantizationSearch.Evaluator() {
        @Override
        public boolean labelled() {
            return true;
        }

        @Override
        public double top1(Model model) {
            if (model.docString().equals("float")) {
                return FLOAT_TOP1;
            }
            Set<String> keep = Set.of(model.docString().split(","));
            double drop = 0;
            for (int i = 0; i < cost.length; i++) {
                drop += keep.contains("n" + i) ? 0 : cost[i];
            }
            return FLOAT_TOP1 - drop / 100;
        }

        @Override
        public double sqnrDb(Model reference, Model candidate) {
            return 40 - 10 * (FLOAT_TOP1 - top1(candidate)) * 100;
        }
    };

    private QuantizationSearch search() {
        Model original = new GraphBuilder(17).build();
        original.setDocString("float");
        return new QuantizationSearch(original, quantizer, evaluator, line -> { });
    }

    private Map<String, String> candidates() {
        Map<String, String> c = new LinkedHashMap<>();
        for (int i = 0; i < cost.length; i++) {
            c.put("n" + i, "MatMul");
        }
        return c;
    }

    @Test
    void sensitivityRanksTheCostliestNodeFirst() {
        List<QuantizationSearch.Sensitivity> ranking = search().sensitivity(candidates());
        assertEquals(List.of("n1", "n3", "n5", "n2", "n0", "n4"), ranking.stream().map(s -> s.node()).toList());
        assertEquals(FLOAT_TOP1 - 0.015, ranking.get(0).top1(), 1e-12);
    }

    @Test
    void keepsTheFewestNodesInFloatThatMeetTheBudget() {
        QuantizationSearch s = search();
        List<QuantizationSearch.Sensitivity> ranking = s.sensitivity(candidates());
        // total cost 2.77 points; without n1: 1.27; without n1, n3: 0.47; without n1, n3, n5: 0.17
        QuantizationSearch.Outcome half = s.meetDrop(() -> ranking, 0.5);
        assertEquals(List.of("n1", "n3"), half.keptFloat());
        assertEquals(0.47, half.dropPoints(), 1e-9);
        QuantizationSearch.Outcome tight = s.meetDrop(() -> ranking, 0.2);
        assertEquals(List.of("n1", "n3", "n5"), tight.keptFloat());
    }

    @Test
    void rankingIsSkippedWhenQuantizingEverythingAlreadyFits() {
        QuantizationSearch.Outcome o = search().meetDrop(() -> {
            throw new AssertionError("no ranking needed");
        }, 3.0);
        assertEquals(List.of(), o.keptFloat());
        assertEquals(1, quantized.size());
    }

    @Test
    void anImpossibleBudgetGivesNull() {
        cost[0] = 0;
        QuantizationSearch s = search();
        List<QuantizationSearch.Sensitivity> ranking = s.sensitivity(candidates()).subList(0, 2);
        assertNull(s.meetDrop(() -> ranking, 0.01), "only n1 and n3 may go back to float; the rest costs 0.47");
    }
}
