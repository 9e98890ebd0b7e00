package dev.slimnx.passes.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.RunOptions;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer on {@link TinyTask}: a 2-layer MLP learns a linearly separable 4-class problem, from
 * labels or from a teacher; frozen weights do not move; seeds reproduce; checkpoints load and are
 * never left half-written.
 */
class TrainerTest {
    private static final RunOptions ONE_THREAD = RunOptions.reference();

    @TempDir
    Path dir;

    private static TrainerOptions options() {
        return TrainerOptions.defaults().withRunOptions(ONE_THREAD).withOptimizer(Optimizer.adamW())
                .withLearningRate(1e-2, 5).withSteps(60);
    }

    private static byte[] bytes(Model m, String initializer) {
        ByteBuffer b = m.graph().initializer(initializer).initializer().rawBytes();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void anMlpLearnsASeparableProblemFromLabels() {
        TinyTask train = new TinyTask(512, 1);
        TinyTask heldOut = new TinyTask(512, 2);
        Model mlp = TinyTask.mlp(7);
        double before = heldOut.accuracy(mlp);
        List<TrainingListener.StepReport> reports = new ArrayList<>();
        TrainingResult r = new Trainer(options().withEpochs(4).withLearningRate(3e-2, 5)).train(mlp, train.data(32, true),
                null, reports::add);

        assertEquals(64, r.steps(), "4 epochs of 16 batches");
        assertEquals(4, r.epochs());
        assertEquals("cross-entropy", r.loss());
        assertEquals(List.of("w1", "b1", "w2", "b2"), r.trained());
        double first = r.meanLoss(0.1, false);
        double last = r.meanLoss(0.1, true);
        assertTrue(last < 0.5 * first, "loss " + first + " -> " + last);
        double after = heldOut.accuracy(r.model());
        assertTrue(after >= 0.9, "held-out top-1 " + before + " -> " + after);
        System.out.println("loss " + first + " -> " + last + "; held-out top-1 " + before + " -> " + after);

        assertEquals(64, reports.size());
        assertEquals(1, reports.getFirst().step());
        assertEquals(64, reports.getLast().totalSteps());
        assertEquals(3, reports.getLast().epoch());
        assertEquals(3e-2 / 5, reports.getFirst().learningRate(), 1e-15, "first warm-up step");
        assertTrue(reports.getLast().seconds() >= reports.getFirst().seconds());
        assertEquals(r.losses()[10], reports.get(10).loss());
    }

    @Test
    void theResultIsTheForwardModelWithNewWeightsAndNothingElseChanged() {
        Model mlp = TinyTask.mlp(7);
        byte[] original = OnnxWriter.toBytes(mlp);
        TrainingResult r = new Trainer(options()).train(mlp, new TinyTask(256, 1).data(32, true), null,
                TrainingListener.NONE);
        assertArrayEquals(original, OnnxWriter.toBytes(mlp), "the input model is not changed");
        Model out = r.model();
        assertEquals(names(mlp.graph().initializers()), names(out.graph().initializers()));
        assertEquals(names(mlp.graph().inputs()), names(out.graph().inputs()));
        assertEquals(names(mlp.graph().outputs()), names(out.graph().outputs()));
        assertEquals(mlp.graph().nodes().stream().map(n -> n.opType() + n.inputs().stream().map(Value::name).toList())
                .toList(), out.graph().nodes().stream().map(n -> n.opType() + n.inputs().stream().map(Value::name)
                .toList()).toList());
        for (String w : List.of("w1", "b1", "w2", "b2")) {
            assertFalse(Arrays.equals(bytes(mlp, w), bytes(out, w)), w + " trained");
            assertArrayEquals(mlp.graph().initializer(w).initializer().dims(), out.graph().initializer(w).initializer().dims());
        }
    }

    @Test
    void frozenWeightsStayBitIdenticalInitializers() {
        Model mlp = TinyTask.mlp(7);
        TrainingResult r = new Trainer(options().withFreeze("1$")).train(mlp, new TinyTask(256, 1).data(32, true), null,
                TrainingListener.NONE);
        assertEquals(List.of("w2", "b2"), r.trained());
        assertEquals(List.of("w1", "b1"), r.frozen());
        for (String w : List.of("w1", "b1")) {
            assertArrayEquals(bytes(mlp, w), bytes(r.model(), w), w + " frozen");
        }
        assertFalse(Arrays.equals(bytes(mlp, "w2"), bytes(r.model(), "w2")));

        IllegalArgumentException all = assertThrows(IllegalArgumentException.class, () -> new Trainer(options()
                .withFreeze(".")).train(mlp, new TinyTask(64, 1).data(32, true), null, TrainingListener.NONE));
        assertTrue(all.getMessage().contains("every weight is frozen"), all.getMessage());
    }

    @Test
    void theSameSeedGivesTheSameWeightsAndAnotherSeedOthers() {
        Model mlp = TinyTask.mlp(7);
        TinyTask task = new TinyTask(256, 1);
        TrainerOptions o = options().withOptimizer(new Optimizer.Sgd(0.9, true, 1e-4)).withSeed(5);
        Model a = new Trainer(o).train(mlp, task.data(32, true), null, TrainingListener.NONE).model();
        Model b = new Trainer(o).train(mlp, task.data(32, true), null, TrainingListener.NONE).model();
        Model c = new Trainer(o.withSeed(6)).train(mlp, task.data(32, true), null, TrainingListener.NONE).model();
        for (String w : List.of("w1", "b1", "w2", "b2")) {
            assertArrayEquals(bytes(a, w), bytes(b, w), w);
        }
        assertFalse(Arrays.equals(bytes(a, "w1"), bytes(c, "w1")), "another seed, another data order");
    }

    @Test
    void aStudentLearnsFromATeacherWithoutLabels() {
        TinyTask train = new TinyTask(512, 1);
        TinyTask heldOut = new TinyTask(512, 2);
        Model teacher = new Trainer(options().withEpochs(4)).train(TinyTask.mlp(7), train.data(32, true), null,
                TrainingListener.NONE).model();
        double teacherTop1 = heldOut.accuracy(teacher);
        Model student = TinyTask.mlp(8);
        double before = heldOut.accuracy(student);
        TrainingResult r = new Trainer(options().withEpochs(4)).train(student, train.data(32, false),
                Distillation.of(teacher, 2, 0.5), TrainingListener.NONE);
        assertEquals("KL(T=2) to the teacher", r.loss(), "no labels: KL alone whatever alpha says");
        double after = heldOut.accuracy(r.model());
        assertTrue(after >= teacherTop1 - 0.08 && after > before + 0.2,
                "student " + before + " -> " + after + ", teacher " + teacherTop1);

        TrainingResult both = new Trainer(options()).train(student, train.data(32, true),
                Distillation.of(teacher, 4, 0.25), TrainingListener.NONE);
        assertEquals("0.25·cross-entropy + 0.75·KL(T=4)", both.loss());
    }

    @Test
    void unlabelledDataWithoutATeacherIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(options())
                .train(TinyTask.mlp(7), new TinyTask(64, 1).data(32, false), null, TrainingListener.NONE));
        assertTrue(e.getMessage().contains("no labels"), e.getMessage());
    }

    @Test
    void aBatchWithoutTheModelInputIsNamed() {
        TrainingData wrong = TrainingData.of(List.of(Map.of("pixels", Tensor.ofFloats("pixels", new long[] {1, 8},
                new float[8]), TrainingData.LABELS, Tensor.ofLongs("l", new long[] {1}, 0))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(options())
                .train(TinyTask.mlp(7), wrong, null, TrainingListener.NONE));
        assertTrue(e.getMessage().contains("'x'") && e.getMessage().contains("pixels"), e.getMessage());
    }

    @Test
    void aLearningRateFarTooHighStopsWithTheLastFiniteWeights() {
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> new Trainer(options()
                .withOptimizer(new Optimizer.Sgd(0, false, 0)).withClipNorm(0).withLearningRate(1e30, 0))
                .train(TinyTask.mlp(7), new TinyTask(256, 1).data(32, true), null, TrainingListener.NONE));
        assertTrue(e.step() >= 1 && e.getMessage().contains("lower the learning rate"), e.getMessage());
    }

    @Test
    void checkpointsAreLoadableModelsWithASidecar() throws Exception {
        Path ckpt = dir.resolve("ckpt");
        List<Long> heard = new ArrayList<>();
        TrainingListener listener = new TrainingListener() {
            @Override
            public void onStep(StepReport report) {
            }

            @Override
            public void onCheckpoint(Path model, long step) {
                heard.add(step);
            }
        };
        TrainingResult r = new Trainer(options().withSteps(8).withLearningRate(1e-2, 0).withCheckpoints(4, ckpt))
                .train(TinyTask.mlp(7), new TinyTask(256, 1).data(32, true), null, listener);
        assertEquals(List.of(4L, 8L), heard);
        assertEquals(List.of(ckpt.resolve("step-000004.onnx"), ckpt.resolve("step-000008.onnx")), r.checkpoints());
        Model last = OnnxReader.read(ckpt.resolve("step-000008.onnx"));
        for (String w : List.of("w1", "b1", "w2", "b2")) {
            assertArrayEquals(bytes(r.model(), w), bytes(last, w), "the last checkpoint holds the final " + w);
        }
        Model mid = OnnxReader.read(ckpt.resolve("step-000004.onnx"));
        assertFalse(Arrays.equals(bytes(mid, "w1"), bytes(last, "w1")));
        String json = Files.readString(ckpt.resolve("step-000004.json"));
        assertTrue(json.contains("\"step\": 4") && json.contains("\"epoch\": 0") && json.contains("\"total_steps\": 8")
                && json.contains("\"name\": \"adamw\"") && json.contains("\"model\": \"step-000004.onnx\""), json);
        try (Stream<Path> files = Files.list(ckpt)) {
            assertEquals(4, files.count(), "two models, two sidecars, no temporary files");
        }
    }

    @Test
    void aCheckpointThatCannotBeWrittenLeavesNoPartialFile() throws Exception {
        Path ckpt = Files.createDirectories(dir.resolve("ckpt"));
        // a non-empty folder where the second checkpoint's model must go: the final move fails
        Path blocker = Files.createDirectories(ckpt.resolve("step-000004.onnx"));
        Files.writeString(blocker.resolve("keep.txt"), "in the way");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> new Trainer(options().withSteps(6)
                .withCheckpoints(2, ckpt)).train(TinyTask.mlp(7), new TinyTask(256, 1).data(32, true), null,
                TrainingListener.NONE));
        assertTrue(e.getMessage().contains("step 4"), e.getMessage());
        List<String> names;
        try (Stream<Path> files = Files.list(ckpt)) {
            names = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(List.of("step-000002.json", "step-000002.onnx", "step-000004.onnx"), names,
                "the first checkpoint whole, no sidecar for the failed one, no temporary file");
        assertEquals("in the way", Files.readString(blocker.resolve("keep.txt")));
    }

    @Test
    void checkpointSidecarsAreJson() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("a", 1);
        m.put("b", Arrays.asList(true, null, "x\"y"));
        m.put("c", Double.NaN);
        assertEquals("{\"a\": 1, \"b\": [true, null, \"x\\\"y\"], \"c\": null}", Checkpoints.json(m));
        assertEquals("\"a\\nb\\u0001\"", Checkpoints.json("a\nb\u0001"));
    }

    private static List<String> names(java.util.Collection<Value> values) {
        return values.stream().map(Value::name).toList();
    }
}
