package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds which nodes to keep in float so a quantized model stays within an accuracy budget.
 *
 * <p>Sensitivity: for each quantizable node, quantize only that node and measure how far the
 * output moves (SQNR against float; top-1 too when the data is labelled). The search then keeps
 * the k most sensitive nodes in float, for k = 0, 1, 2, 4, ... until the drop is within budget,
 * and bisects between the last two k (variants already measured are reused). The drop is not
 * guaranteed to fall monotonically with k, so the search returns the smallest k it saw meet the
 * budget, never one it did not measure.
 */
final class QuantizationSearch {
    /** Quantizes a copy of the model, keeping the named nodes in float. */
    @FunctionalInterface
    interface Quantizer {
        Model quantize(Model source, Set<String> keepFloat);
    }

    /**
     * @param node node name
     * @param opType its op type
     * @param sqnrDb SQNR of the judged output with only this node quantized
     * @param top1 top-1 with only this node quantized, NaN without labels
     */
    record Sensitivity(String node, String opType, double sqnrDb, double top1) {
    }

    /**
     * @param model the chosen quantized model
     * @param keptFloat nodes kept in float
     * @param floatTop1 top-1 of the float model
     * @param top1 top-1 of the chosen model
     * @param variants quantized variants measured
     */
    record Outcome(Model model, List<String> keptFloat, double floatTop1, double top1, int variants) {
        double dropPoints() {
            return 100 * (floatTop1 - top1);
        }
    }

    /** Measures a model variant on fixed data. */
    interface Evaluator {
        /** @return true when top-1 can be measured */
        boolean labelled();

        /** @return top-1 in [0, 1] */
        double top1(Model model);

        /** @return SQNR in dB of the candidate's output against the reference's */
        double sqnrDb(Model reference, Model candidate);
    }

    private final Model original;
    private final Quantizer quantizer;
    private final Evaluator evaluation;
    private final Progress progress;

    /** Receives a line per measured variant. */
    @FunctionalInterface
    interface Progress {
        void update(String line);
    }

    QuantizationSearch(Model original, Quantizer quantizer, Evaluator evaluation, Progress progress) {
        this.original = original;
        this.quantizer = quantizer;
        this.evaluation = evaluation;
        this.progress = progress;
    }

    /**
     * @param candidates names and op types of the quantizable nodes, in graph order
     * @return one entry per node, most sensitive (lowest SQNR) first
     */
    List<Sensitivity> sensitivity(Map<String, String> candidates) {
        List<Sensitivity> out = new ArrayList<>();
        int i = 0;
        for (Map.Entry<String, String> c : candidates.entrySet()) {
            Set<String> others = new LinkedHashSet<>(candidates.keySet());
            others.remove(c.getKey());
            Model only = quantizer.quantize(original, others);
            double sqnr = evaluation.sqnrDb(original, only);
            double top1 = evaluation.labelled() ? evaluation.top1(only) : Double.NaN;
            out.add(new Sensitivity(c.getKey(), c.getValue(), sqnr, top1));
            progress.update(String.format("sensitivity %d/%d: %s %.1f dB", ++i, candidates.size(), c.getKey(), sqnr));
        }
        out.sort(Comparator.comparingDouble(Sensitivity::sqnrDb));
        return out;
    }

    /**
     * @param rankingSource the nodes, most sensitive first; asked for only when quantizing every
     *     node misses the budget, since ranking costs one variant per node
     * @param maxDropPoints the budget, in top-1 points
     * @return the quantized model with the fewest nodes kept in float that meets the budget, or
     *     null when even keeping every ranked node in float does not
     */
    Outcome meetDrop(java.util.function.Supplier<List<Sensitivity>> rankingSource, double maxDropPoints) {
        double floatTop1 = evaluation.top1(original);
        Model all = quantizer.quantize(original, Set.of());
        double allTop1 = evaluation.top1(all);
        progress.update(String.format("every node quantized: top-1 %.4f (drop %.2f points)", allTop1,
                100 * (floatTop1 - allTop1)));
        if (100 * (floatTop1 - allTop1) <= maxDropPoints) {
            return new Outcome(all, List.of(), floatTop1, allTop1, 1);
        }
        List<Sensitivity> ranking = rankingSource.get();
        Map<Integer, Outcome> measured = new HashMap<>();
        measured.put(0, new Outcome(all, List.of(), floatTop1, allTop1, 0));
        java.util.function.IntFunction<Outcome> at = k -> measured.computeIfAbsent(k, kk -> {
            List<String> keep = ranking.subList(0, kk).stream().map(Sensitivity::node).toList();
            Model m = quantizer.quantize(original, new LinkedHashSet<>(keep));
            double top1 = evaluation.top1(m);
            progress.update(String.format("%d node(s) kept in float: top-1 %.4f (drop %.2f points)", kk, top1,
                    100 * (floatTop1 - top1)));
            return new Outcome(m, keep, floatTop1, top1, 0);
        });
        int n = ranking.size();
        int lo = -1;
        int hi = -1;
        for (int k = 0; ; k = k == 0 ? 1 : Math.min(n, 2 * k)) {
            if (at.apply(k).dropPoints() <= maxDropPoints) {
                hi = k;
                break;
            }
            lo = k;
            if (k == n) {
                return null;
            }
        }
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (at.apply(mid).dropPoints() <= maxDropPoints) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Outcome best = at.apply(hi);
        return new Outcome(best.model(), best.keptFloat(), floatTop1, best.top1(), measured.size() + ranking.size());
    }
}
