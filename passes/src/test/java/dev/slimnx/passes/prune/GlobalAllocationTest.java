package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class GlobalAllocationTest {
    @Test
    void removesTheGloballyLeastImportantUnits() {
        var a = new GlobalAllocation.Candidate("a", new double[] {1, 0.1, 0.5, 0.2}, 10, 1);
        var b = new GlobalAllocation.Candidate("b", new double[] {0.3, 1, 0.05}, 10, 1);
        List<int[]> kept = GlobalAllocation.plan(List.of(a, b), 30);
        assertArrayEquals(new int[] {0, 2}, kept.get(0));
        assertArrayEquals(new int[] {0, 1}, kept.get(1));
    }

    @Test
    void ranksByScorePerUnitOfCost() {
        // b's units score higher but cost 10x more: per unit of cost they are the cheaper loss
        var a = new GlobalAllocation.Candidate("a", new double[] {0.1, 0.2}, 1, 1);
        var b = new GlobalAllocation.Candidate("b", new double[] {0.5, 0.6, 0.7}, 10, 1);
        List<int[]> kept = GlobalAllocation.plan(List.of(a, b), 10);
        assertArrayEquals(new int[] {0, 1}, kept.get(0));
        assertArrayEquals(new int[] {1, 2}, kept.get(1));
        assertEquals(1 * 1 + 2 * 10, GlobalAllocation.removableCost(List.of(a, b)));
    }

    @Test
    void honoursMinimumWidths() {
        var a = new GlobalAllocation.Candidate("a", new double[] {0.1, 0.1, 0.1, 1}, 1, 3);
        var b = new GlobalAllocation.Candidate("b", new double[] {0.9, 1}, 1, 1);
        List<int[]> kept = GlobalAllocation.plan(List.of(a, b), 2);
        assertEquals(3, kept.get(0).length);
        assertArrayEquals(new int[] {1}, kept.get(1));
    }

    @Test
    void stopsWithinOneUnitsCostOfTheTarget() {
        var a = new GlobalAllocation.Candidate("a", new double[] {0.1, 0.2, 0.3, 0.4}, 7, 1);
        List<int[]> kept = GlobalAllocation.plan(List.of(a), 15);
        long removed = (4 - kept.get(0).length) * 7L;
        assertEquals(true, removed >= 15 && removed < 15 + 7);
    }

    @Test
    void minWidthIsTheLargerOfFloorAndFraction() {
        assertEquals(8, GlobalAllocation.minWidth(32, 0.125, 8));
        assertEquals(48, GlobalAllocation.minWidth(384, 0.125, 8));
        assertEquals(4, GlobalAllocation.minWidth(4, 0.125, 8));
    }
}
