package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Inputs for latency measurements, built from a model's signature. */
final class BenchFeeds {
    private BenchFeeds() {
    }

    /**
     * Random normal floats, zeros for integer inputs (NaViT's positions and image ids: one image
     * of the whole sequence); {@code batch} is the batch size, any other symbol 128.
     */
    static Map<String, Tensor> random(Model m, int batch) {
        SplittableRandom random = new SplittableRandom(batch);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Value in : m.graph().inputs()) {
            if (in.isInitializer()) {
                continue;
            }
            List<Dim> dims = in.shape().dims();
            long[] shape = new long[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                Dim d = dims.get(i);
                shape[i] = d.isKnown() ? d.value() : d.isSymbolic() && d.param().equals("batch") ? batch : 128;
            }
            int n = Math.toIntExact(Tensor.elementCount(shape));
            if (in.elemType() == DataType.FLOAT) {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (random.nextDouble() * 2 - 1);
                }
                out.put(in.name(), Tensor.ofFloats(in.name(), shape, v));
            } else {
                out.put(in.name(), Tensor.ofIntegers(in.name(), in.elemType(), shape, new long[n]));
            }
        }
        return out;
    }
}
