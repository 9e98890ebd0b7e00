package dev.slimnx.passes.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.check.GraphChecker;
import dev.slimnx.graph.check.Issue;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.testing.Assertions;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassResult;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What every pass test needs: run a pass the way the manager does (with the checker), compare a
 * model's outputs before and after through ONNX Runtime with its optimizations off, and check that
 * a pass that should not fire leaves the serialized bytes alone.
 */
public final class PassTesting {
    /** The lossless tolerance of DESIGN.md. */
    public static final double RTOL = 1e-5;
    /** The lossless tolerance of DESIGN.md. */
    public static final double ATOL = 1e-5;

    private PassTesting() {
    }

    /**
     * Runs requires → run → ensures and fails the test when the result does not pass the checker.
     *
     * @return what the pass said it did
     */
    public static PassResult run(Pass pass, Model model) {
        pass.requires(model);
        PassResult result = pass.run(model, PassContext.defaults());
        pass.ensures(model);
        List<Issue> errors = GraphChecker.check(model).stream().filter(Issue::isError).toList();
        assertEquals(List.of(), errors, pass.id() + " left an invalid model");
        return result;
    }

    /** Asserts the pass reports no change and the model serializes to the same bytes as before. */
    public static void assertUnchanged(Pass pass, Model model) {
        byte[] before = OnnxWriter.toBytes(model);
        PassResult result = run(pass, model);
        assertFalse(result.changed(), () -> pass.id() + " claimed a change: " + result.summary());
        assertArrayEquals(before, OnnxWriter.toBytes(model), pass.id() + " changed the bytes");
    }

    /** Runs the pass twice: the second run must report no change and leave the bytes alone. */
    public static PassResult assertIdempotent(Pass pass, Model model) {
        PassResult first = run(pass, model);
        assertUnchanged(pass, model);
        return first;
    }

    /**
     * Feeds for every graph input that is not an initializer default: normal floats, small
     * non-negative integers, alternating booleans; a dim that is not a number becomes
     * {@code dynamicSize}.
     */
    public static Map<String, Tensor> randomFeeds(Model model, long seed, int dynamicSize) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (Value in : model.graph().inputs()) {
            if (in.isInitializer()) {
                continue;
            }
            List<Dim> dims = in.shape().dims();
            long[] shape = new long[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = dims.get(i).isKnown() ? dims.get(i).value() : dynamicSize;
            }
            int n = Math.toIntExact(Tensor.elementCount(shape));
            DataType type = in.elemType();
            Tensor t;
            if (type == DataType.FLOAT) {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) gaussian(random);
                }
                t = Tensor.ofFloats(in.name(), shape, v);
            } else if (type == DataType.INT64 || type == DataType.INT32) {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = random.nextInt(4);
                }
                t = Tensor.ofIntegers(in.name(), type, shape, v);
            } else if (type == DataType.BOOL) {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = i % 2;
                }
                t = Tensor.ofIntegers(in.name(), type, shape, v);
            } else {
                throw new IllegalArgumentException("no random feed for input " + in.name() + " of type " + type);
            }
            feeds.put(in.name(), t);
        }
        return feeds;
    }

    /**
     * Runs both models on the same random feeds (batch/dynamic dims = 2) through ONNX Runtime with
     * one thread and no graph optimizations, and compares every output of {@code before} by name.
     */
    public static void assertSameOutputs(Model before, Model after, double rtol, double atol) {
        assertSameOutputs(before, after, randomFeeds(before, 42, 2), rtol, atol);
    }

    /** As {@link #assertSameOutputs(Model, Model, double, double)} on given feeds. */
    public static void assertSameOutputs(Model before, Model after, Map<String, Tensor> feeds, double rtol,
                                         double atol) {
        Map<String, Tensor> expected;
        Map<String, Tensor> actual;
        try (ModelRunner a = ModelRunner.open(before, RunOptions.reference());
             ModelRunner b = ModelRunner.open(after, RunOptions.reference())) {
            expected = a.run(feeds);
            actual = b.run(feeds);
        }
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor got = actual.get(e.getKey());
            assertFalse(got == null, "output " + e.getKey() + " is missing after the pass");
            assertArrayEquals(e.getValue().dims(), got.dims(), "shape of output " + e.getKey());
            String mismatch = Assertions.mismatch(e.getValue(), got, rtol, atol);
            assertNull(mismatch, () -> "output " + e.getKey() + ": " + mismatch);
        }
    }

    private static double gaussian(SplittableRandom r) {
        double u = Math.max(r.nextDouble(), 1e-300);
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
