package dev.slimnx.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.Dataset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Multi-task judging: a model with two heads over the same items, head A against the items'
 * 10 classes and head B against a 5-group labelling of them (Memory ViT's setting). Items are
 * near one-hot, so head A = x·I and head B = x·G (G sums each group) are exactly right.
 */
class AccuracyRunTest {
    static final int[] GROUP = {0, 1, 0, 2, 0, 3, 0, 3, 4, 3};

    private static Model twoHeads(boolean breakGroupFour) {
        float[] eye = new float[100];
        float[] g = new float[50];
        for (int i = 0; i < 10; i++) {
            eye[i * 10 + i] = 1;
            g[i * 5 + GROUP[i]] = 1;
        }
        if (breakGroupFour) {
            g[8 * 5 + 4] = 0; // class 8 (the only member of group 4) now votes for group 0
            g[8 * 5] = 1;
        }
        GraphBuilder b = new GraphBuilder(17);
        var x = b.input("x", DataType.FLOAT, "batch", 10);
        b.output(b.node("MatMul", x, b.initializer(Tensor.ofFloats("eye", new long[] {10, 10}, eye))).name("a").value())
                .setName("logits_a");
        b.output(b.node("MatMul", x, b.initializer(Tensor.ofFloats("g", new long[] {10, 5}, g))).name("b").value())
                .setName("logits_b");
        return b.build();
    }

    /** 200 items of class i % 10: x = 5·e_i + noise in [0, 0.1). */
    private static Dataset items() {
        return new Dataset() {
            int served;

            @Override
            public long size() {
                return 200;
            }

            @Override
            public boolean labelled() {
                return true;
            }

            @Override
            public Batch next(int max) {
                int n = Math.min(max, 200 - served);
                if (n <= 0) {
                    return null;
                }
                Random r = new Random(served);
                float[] x = new float[n * 10];
                int[] y = new int[n];
                for (int i = 0; i < n; i++) {
                    y[i] = (served + i) % 10;
                    for (int j = 0; j < 10; j++) {
                        x[i * 10 + j] = (j == y[i] ? 5 : 0) + 0.1f * r.nextFloat();
                    }
                }
                served += n;
                return new Batch(Map.of("x", Tensor.ofFloats("x", new long[] {n, 10}, x)), y, n);
            }

            @Override
            public void close() {
            }
        };
    }

    private static Map<String, int[]> heads() {
        Map<String, int[]> heads = new LinkedHashMap<>();
        heads.put("logits_a", null);
        heads.put("logits_b", GROUP);
        return heads;
    }

    @Test
    void eachHeadIsJudgedAgainstItsOwnLabelling() throws Exception {
        try (ModelRunner base = ModelRunner.open(twoHeads(false), RunOptions.reference());
             ModelRunner cand = ModelRunner.open(twoHeads(true), RunOptions.reference())) {
            AccuracyRun.Result r = AccuracyRun.runHeads(base, cand, items(), 64, heads(), Progress.NONE);
            assertEquals(2, r.heads().size());
            var a = r.heads().get(0);
            var b = r.heads().get(1);
            assertEquals("logits_a", a.output());
            assertEquals(1.0, a.baselineTop1());
            assertEquals(1.0, a.candidateTop1(), "head A is untouched");
            assertEquals(1.0, b.baselineTop1(), "the group labelling is applied to head B");
            assertEquals(0.9, b.candidateTop1(), 1e-12, "class 8 is 1 item in 10 and its group is now wrong");
            assertEquals(a, r.accuracy(), "the first head is the report's main accuracy");
            assertTrue(r.outputs().stream().anyMatch(o -> o.name().equals("logits_b") && o.maxAbs() > 0));
        }
    }

    @Test
    void aLabelOutsideTheMapIsRefused() throws Exception {
        try (ModelRunner base = ModelRunner.open(twoHeads(false), RunOptions.reference())) {
            Map<String, int[]> bad = Map.of("logits_b", new int[] {0, 1, 2});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> AccuracyRun.runHeads(base, base, items(), 64, bad, Progress.NONE));
            assertTrue(e.getMessage().contains("no entry in the head's label map"), e.getMessage());
        }
    }
}
