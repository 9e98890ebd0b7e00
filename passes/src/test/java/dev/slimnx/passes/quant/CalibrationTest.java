package dev.slimnx.passes.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CalibrationTest {
    private static final int BINS = CalibrationOptions.DEFAULT_BINS;

    // ---- MinMax ----

    @Test
    void minMaxIsExactOverBatchesAndIgnoresNaN() {
        MinMaxCollector c = new MinMaxCollector();
        c.add(new float[] {0.5f, -1.25f, Float.NaN});
        c.add(new float[] {3.75f, 0f});
        assertEquals(new Range(-1.25f, 3.75f), c.range());
        assertEquals(4, c.count());
        assertThrows(IllegalStateException.class, () -> new MinMaxCollector().range());
    }

    // ---- histogram ----

    @Test
    void growingTheRangeMergesBinsExactlyAsIfBinnedAtTheFinalRange() {
        SplittableRandom r = new SplittableRandom(7);
        float[] first = uniform(r, 10_000, -1, 1);
        float[] second = uniform(r, 10_000, -3.5, 2.5);
        HistogramCollector h = new HistogramCollector(BINS);
        h.add(first);
        double firstLimit = h.limit();
        h.add(second);
        assertEquals(4 * firstLimit, h.limit(), 0, "3.5 needs two doublings of a limit just under 1");
        long[] expected = new long[2 * BINS];
        for (float[] batch : List.of(first, second)) {
            for (float x : batch) {
                expected[(int) Math.floor((x / h.limit() + 1) * BINS)]++;
            }
        }
        assertArrayEquals(expected, h.signedHistogram());
        assertEquals(20_000, Arrays.stream(h.absHistogram()).sum());
        assertEquals(new Range(min(first, second), max(first, second)), h.minMax());
    }

    @Test
    void zerosSeenBeforeAnyOtherValueLandInTheBinAtZero() {
        HistogramCollector h = new HistogramCollector(4);
        h.add(new float[] {0f, 0f, 0f});
        assertEquals(0, h.limit());
        h.add(new float[] {2f, -1.2f});
        assertEquals(2, h.limit());
        // bins of width 0.5 over [-2, 2]; 2 is the top edge and counts in the last bin
        assertArrayEquals(new long[] {0, 1, 0, 0, 3, 0, 0, 1}, h.signedHistogram());
        assertArrayEquals(new long[] {3, 0, 1, 1}, h.absHistogram());
        assertArrayEquals(new long[] {0, 0, 1, 1}, h.nonZeroAbsHistogram());
    }

    @Test
    void absoluteHistogramFoldsTheSignedOne() {
        HistogramCollector h = new HistogramCollector(4);
        h.add(new float[] {-4f, -0.9f, 0.1f, 1.1f, 3.9f});
        // signed bins of width 1 over [-4, 4]: -4 → 0, -0.9 → 3, 0.1 → 4, 1.1 → 5, 3.9 → 7
        assertArrayEquals(new long[] {1, 0, 0, 1, 1, 1, 0, 1}, h.signedHistogram());
        // |x| bins of width 1: 0.9 and 0.1 → 0, 1.1 → 1, 3.9 and 4 → 3
        assertArrayEquals(new long[] {2, 1, 0, 2}, h.absHistogram());
    }

    @Test
    void evenBinCountIsRequired() {
        assertThrows(IllegalArgumentException.class, () -> new HistogramCollector(5));
    }

    // ---- percentile ----

    @Test
    void percentileOfAKnownSample() {
        // 200 001 values evenly spaced over [-1, 1]: p percent of |x| lie below p/100
        float[] values = new float[200_001];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i - 100_000) / 100_000f;
        }
        HistogramCollector h = new HistogramCollector(BINS);
        h.add(values);
        double w = h.binWidth();
        Range symmetric = h.percentileRange(98, true);
        assertEquals(0.98, symmetric.max(), w);
        assertEquals(-symmetric.max(), symmetric.min(), 0);
        Range asymmetric = h.percentileRange(98, false);
        assertEquals(-0.98, asymmetric.min(), w, "1% cut off the low tail");
        assertEquals(0.98, asymmetric.max(), w, "1% cut off the high tail");
        assertEquals(new Range(-1f, 1f), h.percentileRange(100, false), "nothing cut, clipped to what was seen");
    }

    @Test
    void percentileDropsARareOutlierThatMinMaxKeeps() {
        SplittableRandom r = new SplittableRandom(3);
        float[] values = uniform(r, 99_999, -1, 1);
        float[] withOutlier = Arrays.copyOf(values, 100_000);
        withOutlier[99_999] = 1000f;
        HistogramCollector h = new HistogramCollector(BINS);
        h.add(withOutlier);
        Range p = h.percentileRange(99.99, false);
        assertEquals(1000f, h.minMax().max());
        assertTrue(p.max() <= 1 + h.binWidth(), () -> "kept the outlier: " + p);
    }

    // ---- entropy ----

    @Test
    void entropyClipsALongTail() {
        // Laplace(0, 1): most values are small, a few reach ~13
        SplittableRandom r = new SplittableRandom(11);
        float[] values = new float[200_000];
        for (int i = 0; i < values.length; i++) {
            double u = r.nextDouble() - 0.5;
            values[i] = (float) (-Math.signum(u) * Math.log(1 - 2 * Math.abs(u)));
        }
        HistogramCollector h = new HistogramCollector(BINS);
        h.add(values);
        double max = Math.max(-h.minMax().min(), h.minMax().max());
        double t = EntropyThreshold.of(h.absHistogram(), h.binWidth(), CalibrationOptions.DEFAULT_QUANTIZED_BINS);
        assertTrue(t < 0.7 * max, () -> "threshold " + t + " of max " + max);
        assertTrue(t > 3, () -> "threshold " + t + " clips the bulk of a unit Laplace");
    }

    @Test
    void entropyKeepsTheRangeOfAUniformSample() {
        SplittableRandom r = new SplittableRandom(13);
        float[] values = uniform(r, 200_000, -1, 1);
        HistogramCollector h = new HistogramCollector(BINS);
        h.add(values);
        double t = EntropyThreshold.of(h.absHistogram(), h.binWidth(), CalibrationOptions.DEFAULT_QUANTIZED_BINS);
        assertTrue(t > 0.95, () -> "threshold " + t + " of max 1");
    }

    @Test
    void entropyThresholdIsQBinsWhenEveryValueFitsInThem() {
        long[] h = new long[2048];
        h[3] = 10;
        h[100] = 5;
        assertEquals(128 * 0.5, EntropyThreshold.of(h, 0.5, 128), 0);
    }

    // ---- collect ----

    /** x → Mul(x, 2) → t → Relu → y, with a constant c read by an Add. */
    private static Model model() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, "n", 3);
        Value two = b.initializer(Tensor.ofFloats("two", new long[0], 2f));
        Value c = b.initializer(Tensor.ofFloats("c", new long[] {3}, -0.5f, 0.25f, 4f));
        Value t = b.op("Mul", x, two);
        t.setName("t");
        Value y = b.op("Relu", t);
        b.output(b.op("Add", y, c), DataType.FLOAT, "n", 3);
        y.setName("y");
        return b.build();
    }

    private static Map<String, Tensor> feed(float... v) {
        return Map.of("x", Tensor.ofFloats("x", new long[] {v.length / 3, 3}, v));
    }

    @Test
    void collectsIntermediatesInputsAndConstantsWithoutChangingTheModel() {
        Model m = model();
        byte[] before = OnnxWriter.toBytes(m);
        List<long[]> progress = new ArrayList<>();
        PassContext context = PassContext.defaults().withProgress((id, done, total) -> progress.add(new long[] {done, total}));
        CalibrationData data = CalibrationData.of(List.of(feed(1, -2, 3), feed(0.5f, 4, -1, 2, 2, 2)));
        Map<String, Range> ranges = Calibration.collect(m, List.of("t", "x", "y", "c"), data,
                CalibrationOptions.of(CalibrationMethod.MINMAX), context);
        assertEquals(List.of("t", "x", "y", "c"), List.copyOf(ranges.keySet()));
        assertEquals(new Range(-4f, 8f), ranges.get("t"));
        assertEquals(new Range(-2f, 4f), ranges.get("x"));
        assertEquals(new Range(0f, 8f), ranges.get("y"));
        assertEquals(new Range(-0.5f, 4f), ranges.get("c"));
        assertArrayEquals(before, OnnxWriter.toBytes(m), "the model was changed");
        assertEquals(2, progress.size());
        assertArrayEquals(new long[] {2, -1}, progress.get(1));
    }

    @Test
    void readsAtMostMaxBatches() {
        List<Long> done = new ArrayList<>();
        PassContext context = PassContext.defaults().withProgress((id, d, total) -> done.add(total));
        CalibrationData data = CalibrationData.of(List.of(feed(1, 1, 1), feed(5, 5, 5), feed(9, 9, 9)));
        Map<String, Range> ranges = Calibration.collect(model(), List.of("t"), data,
                CalibrationOptions.of(CalibrationMethod.MINMAX).withMaxBatches(2), context);
        assertEquals(new Range(2f, 10f), ranges.get("t"), "the third batch was read");
        assertEquals(List.of(2L, 2L), done);
    }

    @Test
    void histogramMethodsRunThroughTheModel() {
        CalibrationData data = CalibrationData.of(List.of(feed(1, -2, 3), feed(0.5f, 4, -1)));
        Range p = Calibration.collect(model(), List.of("y"), data, CalibrationOptions.of(CalibrationMethod.PERCENTILE),
                PassContext.defaults()).get("y");
        Range e = Calibration.collect(model(), List.of("y"), data, CalibrationOptions.of(CalibrationMethod.ENTROPY),
                PassContext.defaults()).get("y");
        assertEquals(new Range(0f, 8f), p, "99.999% of six values is all of them");
        assertEquals(0f, e.min());
        assertTrue(e.max() > 0 && e.max() <= 8f, e::toString);
    }

    @Test
    void refusesUnknownAndNonFloatValuesAndEmptyData() {
        CalibrationData one = CalibrationData.of(List.of(feed(1, 2, 3)));
        CalibrationOptions minMax = CalibrationOptions.of(CalibrationMethod.MINMAX);
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Calibration.collect(model(), List.of("nope"), one, minMax, PassContext.defaults()));
        assertTrue(unknown.getMessage().contains("nope"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Calibration.collect(model(), List.of("t"),
                CalibrationData.of(List.of()), minMax, PassContext.defaults()));
        GraphBuilder b = new GraphBuilder(17);
        Value i = b.input("i", DataType.INT64, 2);
        b.output(b.op("Neg", i), DataType.INT64, 2).setName("neg");
        IllegalArgumentException notFloat = assertThrows(IllegalArgumentException.class, () -> Calibration.collect(
                b.build(), List.of("neg"), one, minMax, PassContext.defaults()));
        assertTrue(notFloat.getMessage().contains("INT64"), notFloat.getMessage());
    }

    @Test
    void optionsAreValidated() {
        CalibrationOptions o = CalibrationOptions.of(CalibrationMethod.PERCENTILE);
        assertThrows(IllegalArgumentException.class, () -> o.withPercentile(0));
        assertThrows(IllegalArgumentException.class, () -> o.withPercentile(100.5));
        assertThrows(IllegalArgumentException.class, () -> o.withMaxBatches(-1));
        assertThrows(IllegalArgumentException.class, () -> new CalibrationOptions(CalibrationMethod.ENTROPY, 99, false,
                2047, 128, 0));
        assertEquals(CalibrationMethod.ENTROPY, CalibrationMethod.parse(" Entropy "));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> CalibrationMethod.parse("kl"));
        assertTrue(bad.getMessage().contains("minmax, percentile, entropy"), bad.getMessage());
    }

    private static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    private static float min(float[]... arrays) {
        float m = Float.POSITIVE_INFINITY;
        for (float[] a : arrays) {
            for (float v : a) {
                m = Math.min(m, v);
            }
        }
        return m;
    }

    private static float max(float[]... arrays) {
        float m = Float.NEGATIVE_INFINITY;
        for (float[] a : arrays) {
            for (float v : a) {
                m = Math.max(m, v);
            }
        }
        return m;
    }
}
