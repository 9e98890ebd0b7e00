package dev.slimnx.validate.latency;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** The measuring loop with stand-in calls and a fake clock: order, budgets, options. */
class LatencyBenchmarkTest {
    /** A clock that moves by {@code step} ns on every read, plus whatever a call adds. */
    private static final class FakeClock implements LongSupplier {
        long now;
        final long step;

        FakeClock(long step) {
            this.step = step;
        }

        @Override
        public long getAsLong() {
            now += step;
            return now;
        }
    }

    @Test
    void interleavesAndAlternatesWhoGoesFirst() {
        StringBuilder order = new StringBuilder();
        FakeClock clock = new FakeClock(0);
        LatencyBenchmark bench = new LatencyBenchmark(LatencyOptions.iterations(2, 4, 1));
        long[][] s = bench.measure(() -> {
            order.append('A');
            clock.now += 100;
        }, () -> {
            order.append('B');
            clock.now += 30;
        }, clock);
        // warm-up AB BA, then measured AB BA AB BA
        assertEquals("ABBA" + "ABBAABBA", order.toString());
        assertArrayEquals(new long[] {100, 100, 100, 100}, s[0]);
        assertArrayEquals(new long[] {30, 30, 30, 30}, s[1]);
    }

    @Test
    void timeBudgetStopsOnceSpentButNotBeforeTheMinimum() {
        // each round costs 2 ms; 7 ms would be 4 rounds, but the minimum is 10
        FakeClock clock = new FakeClock(0);
        LatencyBenchmark bench = new LatencyBenchmark(LatencyOptions.timed(0, Duration.ofMillis(7), 1));
        long[][] s = bench.measure(() -> clock.now += 1_000_000, () -> clock.now += 1_000_000, clock);
        assertEquals(LatencyOptions.MIN_TIMED_ITERATIONS, s[0].length);
        assertEquals(s[0].length, s[1].length);

        FakeClock slow = new FakeClock(0);
        LatencyBenchmark longer = new LatencyBenchmark(LatencyOptions.timed(0, Duration.ofMillis(50), 1));
        long[][] t = longer.measure(() -> slow.now += 1_000_000, () -> slow.now += 1_000_000, slow);
        assertEquals(25, t[0].length);
    }

    @Test
    void timeBudgetStopsAtTheMostIterations() {
        FakeClock clock = new FakeClock(1);
        LatencyBenchmark bench = new LatencyBenchmark(LatencyOptions.timed(0, Duration.ofHours(1), 1));
        long[][] s = bench.measure(() -> { }, () -> { }, clock);
        assertEquals(LatencyOptions.MAX_ITERATIONS, s[0].length);
        assertEquals(LatencyOptions.MAX_ITERATIONS, s[1].length);
        assertEquals(1, s[1][LatencyOptions.MAX_ITERATIONS - 1]);
    }

    @Test
    void optionsRefuseNonsense() {
        assertThrows(IllegalArgumentException.class, () -> LatencyOptions.iterations(-1, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> LatencyOptions.iterations(0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> LatencyOptions.iterations(0, LatencyOptions.MAX_ITERATIONS + 1, 1));
        assertThrows(IllegalArgumentException.class, () -> LatencyOptions.iterations(0, 10));
        assertThrows(IllegalArgumentException.class, () -> LatencyOptions.iterations(0, 10, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> LatencyOptions.iterations(0, 10, 4, 4));
        assertThrows(IllegalArgumentException.class, () -> LatencyOptions.timed(0, Duration.ZERO, 1));
        assertEquals(List.of(1, 8), LatencyOptions.iterations(5, 10, 1, 8).batchSizes());
    }
}
