package dev.slimnx.validate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class GateTest {
    private static final Map<String, Double> FIELDS = Map.of("top1_drop", 0.7, "agreement", 0.995,
            "p50_speedup@32", 1.41, "sqnr_db_min", Double.NaN);

    @Test
    void parsesEveryOperatorAndBatchSuffix() {
        Gate g = Gate.parse(" p50_speedup@32>=1.3 ");
        assertEquals("p50_speedup@32", g.field());
        assertEquals(Gate.Op.GE, g.op());
        assertEquals(1.3, g.threshold());
        assertEquals(Gate.Op.NE, Gate.parse("agreement != 1").op());
        assertEquals(-2e-3, Gate.parse("top1_drop < -2e-3").threshold());
    }

    @Test
    void failureSaysByHowMuch() {
        Gate.Result r = Gate.parse("top1_drop <= 0.5").evaluate(FIELDS);
        assertFalse(r.passed());
        assertEquals("top1_drop <= 0.5: FAILED (top1_drop = 0.7000, misses by 0.2000)", r.message());
        assertTrue(Gate.parse("agreement >= 0.99").evaluate(FIELDS).passed());
        assertTrue(Gate.parse("p50_speedup@32 > 1.4").evaluate(FIELDS).passed());
    }

    @Test
    void unmeasuredFieldFailsAndUnknownFieldIsAnError() {
        assertFalse(Gate.parse("sqnr_db_min >= 30").evaluate(FIELDS).passed());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gate.parse("top5_drop <= 1").evaluate(FIELDS));
        assertTrue(e.getMessage().contains("known: agreement, p50_speedup@32, sqnr_db_min, top1_drop"), e.getMessage());
    }

    @Test
    void malformedGateNamesTheForm() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Gate.parse("top1_drop is small"));
        assertTrue(e.getMessage().contains("FIELD OP NUMBER"), e.getMessage());
    }
}
