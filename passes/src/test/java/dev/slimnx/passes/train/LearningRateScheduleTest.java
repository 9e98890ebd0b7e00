package dev.slimnx.passes.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The cosine schedule's values at chosen steps, worked out by hand. */
class LearningRateScheduleTest {
    @Test
    void linearWarmUpThenCosineToZero() {
        // peak 1e-3, 10 warm-up steps, 110 steps: the cosine spans steps 10..109 over 100 steps
        LearningRateSchedule s = LearningRateSchedule.cosine(1e-3, 10, 110);
        assertEquals(1e-4, s.at(0), 1e-15, "first warm-up step: 1/10 of the peak");
        assertEquals(5e-4, s.at(4), 1e-15);
        assertEquals(1e-3, s.at(9), 1e-15, "the warm-up ends at the peak");
        assertEquals(1e-3, s.at(10), 1e-15, "the cosine starts at the peak");
        assertEquals(0.5e-3, s.at(60), 1e-15, "half way: cos(π/2) = 0");
        assertEquals(1e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), s.at(35), 1e-15);
        assertEquals(1e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.99)), s.at(109), 1e-15, "last step, just above 0");
        assertTrue(s.at(109) < 1e-6);
    }

    @Test
    void withoutWarmUpAndWithAFloor() {
        LearningRateSchedule s = new LearningRateSchedule(0.1, 0, 4, 0.02);
        assertEquals(0.1, s.at(0), 1e-15);
        assertEquals(0.02 + 0.08 * 0.5 * (1 + Math.cos(Math.PI / 4)), s.at(1), 1e-15);
        assertEquals(0.06, s.at(2), 1e-15);
        // one step: the peak
        assertEquals(0.3, LearningRateSchedule.cosine(0.3, 0, 1).at(0), 0);
    }

    @Test
    void outOfRangeIsRefused() {
        LearningRateSchedule s = LearningRateSchedule.cosine(0.1, 0, 4);
        assertThrows(IllegalArgumentException.class, () -> s.at(4));
        assertThrows(IllegalArgumentException.class, () -> s.at(-1));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.cosine(0.1, 4, 4));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.cosine(0, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(0.1, 0, 4, 0.2));
    }
}
