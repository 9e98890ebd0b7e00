package dev.slimnx.passes.train;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small classification task with a known answer: points {@code x ~ N(0, I)} in 8 dimensions,
 * labelled by which of 4 fixed random directions they point along most ({@code argmax(x·A)}), so
 * the classes are linearly separable; and a 2-layer MLP ({@code 8 → 16 → ReLU → 4}) with seeded
 * random weights to learn it.
 */
final class TinyTask {
    static final int D = 8;
    static final int HIDDEN = 16;
    static final int C = 4;

    final float[] x;
    final long[] labels;
    final int n;

    /**
     * @param n points
     * @param seed seeds the points; the directions are fixed
     */
    TinyTask(int n, long seed) {
        this.n = n;
        SplittableRandom directions = new SplittableRandom(42);
        float[] a = gaussian(directions, D * C, 1);
        SplittableRandom random = new SplittableRandom(seed);
        x = gaussian(random, n * D, 1);
        labels = new long[n];
        for (int i = 0; i < n; i++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int k = 0; k < D; k++) {
                    s += x[i * D + k] * a[k * C + c];
                }
                if (s > best) {
                    best = s;
                    labels[i] = c;
                }
            }
        }
    }

    /** @return the points as the model's input {@code x} */
    Tensor inputs() {
        return Tensor.ofFloats("x", new long[] {n, D}, x);
    }

    /**
     * @param batch items per batch
     * @param labelled whether batches carry the labels
     * @return the points, reshuffled every epoch
     */
    TrainingData data(int batch, boolean labelled) {
        return TrainingData.inMemory(Map.of("x", inputs()), labelled ? labels : null, batch);
    }

    /**
     * @param seed seeds the weights (uniform, scaled by 1/√fan-in as PyTorch's Linear does)
     * @return the MLP: weights {@code w1, b1, w2, b2}, output {@code logits}
     */
    static Model mlp(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        GraphBuilder b = new GraphBuilder(17);
        Value in = b.input("x", DataType.FLOAT, "batch", D);
        Value w1 = b.initializer(Tensor.ofFloats("w1", new long[] {D, HIDDEN}, uniform(r, D * HIDDEN, 1 / Math.sqrt(D))));
        Value b1 = b.initializer(Tensor.ofFloats("b1", new long[] {HIDDEN}, uniform(r, HIDDEN, 1 / Math.sqrt(D))));
        Value w2 = b.initializer(Tensor.ofFloats("w2", new long[] {HIDDEN, C}, uniform(r, HIDDEN * C,
                1 / Math.sqrt(HIDDEN))));
        Value b2 = b.initializer(Tensor.ofFloats("b2", new long[] {C}, uniform(r, C, 1 / Math.sqrt(HIDDEN))));
        Value h = b.op("Relu", b.op("Add", b.op("MatMul", in, w1), b1));
        b.output(b.op("Add", b.op("MatMul", h, w2), b2), DataType.FLOAT, "batch", C).setName("logits");
        return b.build();
    }

    /**
     * @param model a model of this task
     * @return its top-1 accuracy on these points
     */
    double accuracy(Model model) {
        float[] logits;
        try (ModelRunner r = ModelRunner.open(model, RunOptions.reference())) {
            logits = r.run(Map.of("x", inputs()), List.of("logits")).get("logits").toFloatArray();
        }
        int correct = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int c = 1; c < C; c++) {
                if (logits[i * C + c] > logits[i * C + best]) {
                    best = c;
                }
            }
            correct += best == labels[i] ? 1 : 0;
        }
        return (double) correct / n;
    }

    private static float[] gaussian(SplittableRandom r, int count, double scale) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            // Box-Muller: SplittableRandom has no nextGaussian that is stable across JDKs
            double u1 = 1 - r.nextDouble();
            double u2 = r.nextDouble();
            v[i] = (float) (scale * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }

    private static float[] uniform(SplittableRandom r, int count, double bound) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        }
        return v;
    }
}
