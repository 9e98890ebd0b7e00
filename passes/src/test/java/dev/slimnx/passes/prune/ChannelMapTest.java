package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The positions a map covers, the positions a keep-set leaves, and where bounds move. */
class ChannelMapTest {

    @Test
    void identityKeepsTheChosenChannelsInTheirNewOrder() {
        ChannelMap m = ChannelMap.identity();
        assertArrayEquals(new int[] {1, 3}, m.keptPositions(4, 4, new int[] {1, 3}));
        assertArrayEquals(new int[] {3, 0, 2, 1}, m.keptPositions(4, 4, new int[] {3, 0, 2, 1}));
        assertEquals(2, m.removed(4, 2));
    }

    @Test
    void anOffsetLeavesTheOtherPositionsWhereTheyWere() {
        // a group of 3 channels at positions 2..4 of an axis of 7 (a Concat's second input)
        ChannelMap m = ChannelMap.offset(2);
        assertArrayEquals(new int[] {0, 1, 4, 5, 6}, m.keptPositions(7, 3, new int[] {2}));
        assertEquals(5, m.end(3));
        assertEquals(0, m.newBoundary(0, 3, 1));
        assertEquals(2, m.newBoundary(2, 3, 1));
        assertEquals(3, m.newBoundary(5, 3, 1));
        assertEquals(5, m.newBoundary(7, 3, 1));
        assertTrue(m.cuts(3, 3));
        assertFalse(m.cuts(5, 3));
        assertThrows(IllegalArgumentException.class, () -> m.newBoundary(4, 3, 1));
    }

    @Test
    void repeatsCoverTheSamePositionInEveryHead() {
        // per-head dim j of 2 heads of 4 dims: positions j and 4 + j
        ChannelMap m = new ChannelMap(0, 1, 2, 4);
        assertEquals(List.of(1, 5), m.positionsOf(1));
        assertArrayEquals(new int[] {0, 3, 4, 7}, m.keptPositions(8, 4, new int[] {0, 3}));
        assertEquals(4, m.removed(4, 2));
        assertEquals(2, m.newBoundary(4, 4, 2));
    }

    @Test
    void blocksCoverWholeHeads() {
        // head h of 3 heads of 2 dims: positions 2h, 2h + 1
        ChannelMap m = new ChannelMap(0, 2, 1, 0);
        assertArrayEquals(new int[] {4, 5, 0, 1}, m.keptPositions(6, 3, new int[] {2, 0}));
        assertEquals(List.of(2, 3), m.positionsOf(1));
    }

    @Test
    void misfitsAreNamed() {
        assertNull(ChannelMap.identity().misfit(4, 4));
        assertNotNull(ChannelMap.offset(2).misfit(4, 4));
        assertNotNull(new ChannelMap(0, 1, 2, 3).misfit(4, 8), "repeats of 4 every 3 overlap");
        assertThrows(IllegalArgumentException.class, () -> new ChannelMap(-1, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new ChannelMap(0, 0, 1, 0));
        assertEquals(0, new ChannelMap(3, 1, 1, 9).period(), "a single repeat has no period");
    }
}
