package dev.slimnx.passes.prune;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The global ranking behind parameter reallocation: given every prunable group's normalised
 * scores, the cost one of its units removes and its minimum width, removes the units that are
 * globally least important per unit of cost until the requested cost is removed. Pure arithmetic;
 * the pass that builds the candidates and applies the plan is separate.
 *
 * <p>Why per unit of cost: a Taylor score estimates the loss a unit's removal adds, and a budget
 * (params, MACs) is best spent by removing first what adds least loss per param or MAC saved; a
 * Q/K dim shared by every head removes several times the params of one FFN unit.
 */
final class GlobalAllocation {
    /**
     * One prunable group.
     *
     * @param name the layer
     * @param scores normalised per-unit scores (one per channel)
     * @param unitCost params (or MACs) one unit removes, exactly
     * @param minWidth the width the group never goes below
     */
    record Candidate(String name, double[] scores, long unitCost, int minWidth) {
        Candidate {
            if (unitCost <= 0 || minWidth < 1 || minWidth > scores.length) {
                throw new IllegalArgumentException(name + ": unit cost " + unitCost + ", min width " + minWidth
                        + ", width " + scores.length);
            }
        }
    }

    private GlobalAllocation() {
    }

    /**
     * @param original width before pruning
     * @param fraction min width as a fraction of the original
     * @param floor min width in channels
     * @return the larger of the two, never above the original
     */
    static int minWidth(int original, double fraction, int floor) {
        return Math.min(original, Math.max(floor, (int) Math.ceil(original * fraction)));
    }

    /**
     * Removes units in ascending order of score over unit cost (ties: the later group first, then
     * the higher index) until at least {@code toRemove} cost is gone or no unit may go.
     *
     * @param candidates the groups, in graph order
     * @param toRemove the cost to remove
     * @return per candidate, the channels kept, ascending
     */
    static List<int[]> plan(List<Candidate> candidates, long toRemove) {
        record Unit(int group, int index, double score) {
        }
        List<Unit> units = new ArrayList<>();
        for (int g = 0; g < candidates.size(); g++) {
            double[] s = candidates.get(g).scores();
            double cost = candidates.get(g).unitCost();
            for (int i = 0; i < s.length; i++) {
                units.add(new Unit(g, i, s[i] / cost));
            }
        }
        units.sort(Comparator.comparingDouble(Unit::score).thenComparing(Unit::group, Comparator.reverseOrder())
                .thenComparing(Unit::index, Comparator.reverseOrder()));
        int[] width = candidates.stream().mapToInt(c -> c.scores().length).toArray();
        boolean[][] removed = new boolean[candidates.size()][];
        for (int g = 0; g < candidates.size(); g++) {
            removed[g] = new boolean[width[g]];
        }
        long gone = 0;
        for (Unit u : units) {
            if (gone >= toRemove) {
                break;
            }
            Candidate c = candidates.get(u.group());
            if (width[u.group()] <= c.minWidth()) {
                continue;
            }
            removed[u.group()][u.index()] = true;
            width[u.group()]--;
            gone += c.unitCost();
        }
        List<int[]> kept = new ArrayList<>();
        for (int g = 0; g < candidates.size(); g++) {
            boolean[] r = removed[g];
            kept.add(IntStream.range(0, r.length).filter(i -> !r[i]).toArray());
        }
        return kept;
    }

    /**
     * @param candidates the groups
     * @return the cost removed when every group is at its minimum width
     */
    static long removableCost(List<Candidate> candidates) {
        long n = 0;
        for (Candidate c : candidates) {
            n += (c.scores().length - c.minWidth()) * c.unitCost();
        }
        return n;
    }
}
