package dev.slimnx.passes.quant;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** What the quantization pass tests share: ONNX Runtime runs, reference data, simple statistics. */
final class QuantTesting {
    /** Images of the Fashion-MNIST test set the reference models are judged on. */
    static final int REFERENCE_IMAGES = 2000;

    private QuantTesting() {
    }

    /** @return the model's op histogram (contrib ops as {@code com.microsoft:Op}) */
    static Map<String, Integer> ops(Model m) {
        return ModelStats.of(m).opHistogram();
    }

    /** @return the first node of that op type (any domain) */
    static Node node(Model m, String opType) {
        return m.graph().nodes().stream().filter(n -> n.opType().equals(opType)).findFirst().orElseThrow();
    }

    /** @return the constant tensor a node reads at input {@code i} */
    static Tensor input(Node n, int i) {
        return n.input(i).initializer();
    }

    /** @return the single output of the model on these feeds, ONNX Runtime on CPU without graph optimizations */
    static float[] run(Model m, Map<String, Tensor> feeds) {
        try (ModelRunner r = ModelRunner.open(m, RunOptions.reference())) {
            Map<String, Tensor> out = r.run(feeds);
            return out.values().iterator().next().toFloatArray();
        }
    }

    /** @return every output by name, ONNX Runtime on CPU without graph optimizations */
    static Map<String, Tensor> runAll(Model m, Map<String, Tensor> feeds) {
        try (ModelRunner r = ModelRunner.open(m, RunOptions.reference())) {
            return r.run(feeds);
        }
    }

    /** @return normal floats, seeded */
    static float[] gaussian(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double u = Math.max(r.nextDouble(), 1e-300);
            v[i] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble()));
        }
        return v;
    }

    /** @return the serialized size */
    static long bytes(Model m) {
        return OnnxWriter.toBytes(m).length;
    }

    /**
     * Top-1 accuracy of a reference classifier on the first images of the Fashion-MNIST test set,
     * prepared as its manifest says ({@code (pixel/255 − 0.2860)/0.3530}).
     *
     * @return the fraction of correct predictions, in percent
     */
    static double top1(Model m, int images) throws IOException {
        LabelledImages data = LabelledImages.read(Path.of("../reference-models/data/t10k-images-idx3-ubyte.gz"),
                Path.of("../reference-models/data/t10k-labels-idx1-ubyte.gz"));
        float[][] pixels = data.preprocessed(new ImagePreprocessing(1 / 255.0, new double[] {0.2860},
                new double[] {0.3530}));
        int hw = data.height() * data.width();
        int batch = 100;
        int correct = 0;
        String input = m.graph().inputs().get(0).name();
        try (ModelRunner r = ModelRunner.open(m, RunOptions.reference().withIntraOpThreads(2))) {
            for (int start = 0; start < images; start += batch) {
                int count = Math.min(batch, images - start);
                float[] x = new float[count * hw];
                for (int i = 0; i < count; i++) {
                    System.arraycopy(pixels[start + i], 0, x, i * hw, hw);
                }
                Map<String, Tensor> out = r.run(Map.of(input, Tensor.ofFloats(input,
                        new long[] {count, 1, data.height(), data.width()}, x)));
                float[] logits = out.values().iterator().next().toFloatArray();
                int classes = logits.length / count;
                for (int i = 0; i < count; i++) {
                    int best = 0;
                    for (int c = 1; c < classes; c++) {
                        if (logits[i * classes + c] > logits[i * classes + best]) {
                            best = c;
                        }
                    }
                    if (best == data.labels()[start + i]) {
                        correct++;
                    }
                }
            }
        }
        return 100.0 * correct / images;
    }

    /** @return the names of the graph outputs */
    static List<String> outputNames(Model m) {
        return m.graph().outputs().stream().map(v -> v.name()).toList();
    }
}
