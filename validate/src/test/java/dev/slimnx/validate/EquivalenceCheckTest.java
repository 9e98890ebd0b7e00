package dev.slimnx.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.SyntheticDataset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The allclose rule over whole datasets, on a model and a copy of it shifted by a known offset. */
class EquivalenceCheckTest {

    /** y = x·2 + offset, so the candidate's error is exactly the offset. */
    private static Model scaled(float offset) {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value y = b.op("Mul", x, b.initializer(Tensor.ofFloats("two", new long[0], 2f)));
        Value z = b.op("Add", y, b.initializer(Tensor.ofFloats("offset", new long[0], offset)));
        b.output(z).setName("y");
        return b.build();
    }

    private static EquivalenceCheck.Result compare(Model a, Model c, double rtol, double atol) throws Exception {
        DataSpec spec = new DataSpec(null, null, 1, List.of(0.0), List.of(1.0), 0, 0, "NCHW", 20, null,
                Map.of(), 7);
        try (ModelRunner ra = ModelRunner.open(a, RunOptions.reference());
             ModelRunner rc = ModelRunner.open(c, RunOptions.reference());
             SyntheticDataset data = new SyntheticDataset(a, spec)) {
            return EquivalenceCheck.compare(ra, rc, data, 8, rtol, atol);
        }
    }

    @Test
    void anOffsetWithinAtolPassesAndReportsItsSize() throws Exception {
        EquivalenceCheck.Result r = compare(scaled(0), scaled(1e-6f), 0, 1e-5);
        assertTrue(r.passed());
        assertEquals(3, r.batches(), "20 items in batches of 8");
        assertEquals(20, r.items());
        EquivalenceCheck.OutputComparison y = r.outputs().get(0);
        assertEquals("y", y.name());
        assertEquals(160, y.elements());
        assertEquals(1e-6, y.maxAbs(), 1e-7);
    }

    @Test
    void anOffsetBeyondTheToleranceFailsOnEveryElement() throws Exception {
        EquivalenceCheck.Result r = compare(scaled(0), scaled(1e-3f), 1e-4, 1e-5);
        assertFalse(r.passed());
        EquivalenceCheck.OutputComparison y = r.outputs().get(0);
        assertTrue(y.outside() > 100, "nearly every element is off by 1e-3: " + y.describe());
        assertTrue(y.describe().startsWith("y: max |diff| 0.00100"), y.describe());
    }

    @Test
    void aDifferentShapeIsAProblemNotANumber() throws Exception {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value y = b.op("ReduceSum", x);
        b.output(y).setName("y");
        EquivalenceCheck.Result r = compare(scaled(0), b.build(), 1e-4, 1e-5);
        assertFalse(r.passed());
        assertTrue(r.outputs().get(0).describe().startsWith("y: dims [1, 1], were [8, 8]"), r.outputs().get(0).describe());
    }
}
