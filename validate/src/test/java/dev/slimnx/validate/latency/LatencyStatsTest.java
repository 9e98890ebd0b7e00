package dev.slimnx.validate.latency;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LatencyStatsTest {
    private static long[] millis(double... ms) {
        long[] out = new long[ms.length];
        for (int i = 0; i < ms.length; i++) {
            out[i] = Math.round(ms[i] * 1e6);
        }
        return out;
    }

    @Test
    void percentilesOfOneToHundredAndOneFallOnSamples() {
        double[] ms = new double[101];
        for (int i = 0; i < ms.length; i++) {
            ms[i] = 101 - i; // measuring order must not matter
        }
        LatencyStats s = LatencyStats.of(4, millis(ms));
        assertEquals(101, s.count());
        assertEquals(51, s.meanMs(), 1e-9);
        assertEquals(51, s.p50Ms(), 1e-9);
        assertEquals(91, s.p90Ms(), 1e-9);
        assertEquals(100, s.p99Ms(), 1e-9);
        assertEquals(1, s.minMs(), 1e-9);
        assertEquals(101, s.maxMs(), 1e-9);
        assertEquals(4 / 0.051, s.throughput(), 1e-9);
    }

    @Test
    void percentilesInterpolateBetweenClosestRanks() {
        LatencyStats s = LatencyStats.of(1, millis(4, 1, 3, 2));
        // h = 3q: p50 -> 1.5 -> 2.5; p90 -> 2.7 -> 3.7; p99 -> 2.97 -> 3.97
        assertEquals(2.5, s.p50Ms(), 1e-9);
        assertEquals(3.7, s.p90Ms(), 1e-9);
        assertEquals(3.97, s.p99Ms(), 1e-9);
        assertEquals(1, s.percentileMs(0), 1e-9);
        assertEquals(4, s.percentileMs(100), 1e-9);
    }

    @Test
    void oneSampleIsEveryPercentile() {
        LatencyStats s = LatencyStats.of(2, millis(7));
        assertEquals(7, s.p50Ms(), 1e-9);
        assertEquals(7, s.p99Ms(), 1e-9);
        assertEquals(2 / 0.007, s.throughput(), 1e-6);
    }

    @Test
    void keepsSamplesInMeasuringOrderAndCopiesThem() {
        long[] raw = {30, 10, 20};
        LatencyStats s = LatencyStats.of(1, raw);
        raw[0] = 0;
        assertArrayEquals(new long[] {30, 10, 20}, s.samplesNanos());
        s.samplesNanos()[0] = 0;
        assertArrayEquals(new long[] {30, 10, 20}, s.samplesNanos());
    }

    @Test
    void refusesWhatIsNotALatency() {
        assertThrows(IllegalArgumentException.class, () -> LatencyStats.of(1, new long[0]));
        assertThrows(IllegalArgumentException.class, () -> LatencyStats.of(1, new long[] {5, -1}));
        assertThrows(IllegalArgumentException.class, () -> LatencyStats.of(0, new long[] {5}));
        LatencyStats s = LatencyStats.of(1, new long[] {5});
        assertThrows(IllegalArgumentException.class, () -> s.percentileMs(101));
        assertThrows(IllegalArgumentException.class, () -> s.percentileMs(Double.NaN));
    }
}
