package dev.slimnx.passes.quant;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.PassContext;
import dev.slimnx.runtime.ModelRunner;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Finds the range each chosen value of a model takes on calibration data.
 *
 * <p>The model is not changed: an augmented copy lists the wanted intermediate values as extra
 * graph outputs (typed from their declarations or from shape inference, since ONNX Runtime needs
 * the element type of every output) and runs batch by batch in ONNX Runtime through
 * {@link PassContext#open}. Each batch's values stream into one collector per value, and only
 * the collectors are kept: a running min/max for {@link CalibrationMethod#MINMAX}, a histogram
 * ({@link HistogramCollector}) for the other methods. Values that are graph inputs are read from
 * the feeds, constants from their tensors, so neither is added as an output.
 */
public final class Calibration {
    /** The pass id progress is reported under: calibration is the long part of {@code quantize-static}. */
    public static final String PROGRESS_ID = "quantize-static";

    private Calibration() {
    }

    /**
     * @param model the model; not changed
     * @param valueNames float32 values of the main graph (node outputs, graph inputs or constants)
     * @param data the batches, feeds by graph input name
     * @param options method and histogram settings, batches to read
     * @param context runs the augmented copy; progress goes to it as
     *     {@code update("quantize-static", batchesDone, maxBatches or −1 when reading all)} after each
     *     batch
     * @return the range of each value, in the order of {@code valueNames}
     * @throws IllegalArgumentException when a name is not a value of the main graph, a value is not
     *     float32 (declared or inferred), or the data has no batch
     * @throws dev.slimnx.runtime.RuntimeFailure when ONNX Runtime cannot run the copy on a batch
     */
    public static Map<String, Range> collect(Model model, Collection<String> valueNames, CalibrationData data,
                                             CalibrationOptions options, PassContext context) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(options, "options");
        Model copy = model.copy();
        Map<String, Value> byName = copy.graph().valuesByName();
        InferenceResult inferred = ShapeInference.infer(copy);
        List<String> names = List.copyOf(new LinkedHashSet<>(valueNames));
        List<String> missing = names.stream().filter(n -> !byName.containsKey(n)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("no value " + String.join(", ", missing) + " in the main graph of "
                    + copy.graph().name());
        }
        Map<String, Collector> collectors = new LinkedHashMap<>();
        List<String> fetched = new ArrayList<>();
        List<String> fed = new ArrayList<>();
        for (String name : names) {
            Value v = byName.get(name);
            if (inferred.elemTypeOf(v) != DataType.FLOAT) {
                throw new IllegalArgumentException("calibration reads float32 values; " + name + " is "
                        + (inferred.elemTypeOf(v) == null ? "of unknown type" : inferred.elemTypeOf(v)));
            }
            Collector c = new Collector(options);
            collectors.put(name, c);
            Tensor constant = GraphEdits.constant(v);
            if (constant != null) {
                c.add(constant.toFloatArray());
            } else if (v.isGraphInput()) {
                fed.add(name);
            } else {
                fetched.add(name);
                if (!v.isGraphOutput()) {
                    if (v.type() == null) {
                        v.setType(inferred.typeOf(v) != null ? inferred.typeOf(v)
                                : ValueType.TensorType.of(DataType.FLOAT, null));
                    }
                    copy.graph().addOutput(v);
                }
            }
        }
        if (!fed.isEmpty() || !fetched.isEmpty()) {
            run(copy, data, options, context, collectors, fed, fetched);
        }
        Map<String, Range> ranges = new LinkedHashMap<>();
        collectors.forEach((name, c) -> ranges.put(name, c.range()));
        return ranges;
    }

    private static void run(Model copy, CalibrationData data, CalibrationOptions options, PassContext context,
                            Map<String, Collector> collectors, List<String> fed, List<String> fetched) {
        long total = options.maxBatches() > 0 ? options.maxBatches() : -1;
        int done = 0;
        try (ModelRunner runner = context.open(copy)) {
            Iterator<Map<String, Tensor>> batches = data.batches();
            while (batches.hasNext() && (options.maxBatches() == 0 || done < options.maxBatches())) {
                Map<String, Tensor> feeds = batches.next();
                for (String name : fed) {
                    Tensor t = feeds.get(name);
                    if (t == null) {
                        throw new IllegalArgumentException("a calibration batch has no input " + name + "; it has "
                                + String.join(", ", feeds.keySet()));
                    }
                    collectors.get(name).add(t.toFloatArray());
                }
                if (!fetched.isEmpty()) {
                    Map<String, Tensor> out = runner.run(feeds, fetched);
                    out.forEach((name, t) -> collectors.get(name).add(t.toFloatArray()));
                }
                done++;
                context.progress().update(PROGRESS_ID, done, total);
            }
        }
        if (done == 0) {
            throw new IllegalArgumentException("the calibration data has no batches");
        }
    }

    /** One value's statistics: a min/max or a histogram, as the method needs. */
    private static final class Collector {
        private final CalibrationOptions options;
        private final MinMaxCollector minMax;
        private final HistogramCollector histogram;

        Collector(CalibrationOptions options) {
            this.options = options;
            boolean histogramNeeded = options.method() != CalibrationMethod.MINMAX;
            this.minMax = histogramNeeded ? null : new MinMaxCollector();
            this.histogram = histogramNeeded ? new HistogramCollector(options.bins()) : null;
        }

        void add(float[] values) {
            if (minMax != null) {
                minMax.add(values);
            } else {
                histogram.add(values);
            }
        }

        Range range() {
            return switch (options.method()) {
                case MINMAX -> minMax.range();
                case PERCENTILE -> histogram.percentileRange(options.percentile(), options.symmetric());
                case ENTROPY -> histogram.limit() == 0 || histogram.zeros() == histogram.count() ? histogram.minMax()
                        : histogram.clippedTo(EntropyThreshold.of(histogram.nonZeroAbsHistogram(),
                                histogram.binWidth(), options.quantizedBins()));
            };
        }
    }
}
