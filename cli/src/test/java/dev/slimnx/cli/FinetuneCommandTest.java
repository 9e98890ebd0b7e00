package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code slimnx finetune} on a small MLP ({@code 10 → 16 → ReLU → 10}, random weights) learning
 * which of 10 standard normal inputs is largest, from a {@code .npz} with labels (or a {@code .npy}
 * without); and once on the reference ViT with its own data.
 */
class FinetuneCommandTest {
    static final int N = 512;
    static final int C = 10;

    @TempDir
    Path dir;
    Path model;
    Path labelled;
    Path unlabelled;
    float[] x;
    long[] y;

    @BeforeEach
    void setUp() throws Exception {
        Random r = new Random(7);
        x = new float[N * C];
        y = new long[N];
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < C; j++) {
                x[i * C + j] = (float) r.nextGaussian();
                if (x[i * C + j] > x[(int) (i * C + y[i])]) {
                    y[i] = j;
                }
            }
        }
        model = mlp(dir.resolve("mlp.onnx"), 3);
        ByteBuffer xb = ByteBuffer.allocate(N * C * 4).order(ByteOrder.LITTLE_ENDIAN);
        xb.asFloatBuffer().put(x);
        ByteBuffer yb = ByteBuffer.allocate(N * 8).order(ByteOrder.LITTLE_ENDIAN);
        yb.asLongBuffer().put(y);
        labelled = dir.resolve("data.npz");
        try (OutputStream os = Files.newOutputStream(labelled); ZipOutputStream zip = new ZipOutputStream(os)) {
            entry(zip, "x", npy("<f4", "(" + N + ", " + C + ")", xb.array()));
            entry(zip, "labels", npy("<i8", "(" + N + ",)", yb.array()));
        }
        unlabelled = dir.resolve("x.npy");
        Files.write(unlabelled, npy("<f4", "(" + N + ", " + C + ")", xb.array()));
    }

    private Path mlp(Path file, long seed) throws Exception {
        Random r = new Random(seed);
        GraphBuilder b = new GraphBuilder(17);
        Value in = b.input("x", DataType.FLOAT, "batch", C);
        Value w1 = b.initializer(Tensor.ofFloats("w1", new long[] {C, 16}, uniform(r, C * 16, 1 / Math.sqrt(C))));
        Value b1 = b.initializer(Tensor.ofFloats("b1", new long[] {16}, uniform(r, 16, 1 / Math.sqrt(C))));
        Value w2 = b.initializer(Tensor.ofFloats("w2", new long[] {16, C}, uniform(r, 16 * C, 0.25)));
        Value b2 = b.initializer(Tensor.ofFloats("b2", new long[] {C}, uniform(r, C, 0.25)));
        Value h = b.op("Relu", b.op("Add", b.op("MatMul", in, w1), b1));
        b.output(b.op("Add", b.op("MatMul", h, w2), b2), DataType.FLOAT, "batch", C).setName("logits");
        OnnxWriter.write(b.build(), file);
        return file;
    }

    private static float[] uniform(Random r, int n, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        }
        return v;
    }

    private static void entry(ZipOutputStream zip, String name, byte[] data) throws Exception {
        zip.putNextEntry(new ZipEntry(name + ".npy"));
        zip.write(data);
        zip.closeEntry();
    }

    private static byte[] npy(String descr, String shape, byte[] body) throws Exception {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int total = 10 + dict.length() + 1;
        String header = dict + " ".repeat((64 - total % 64) % 64) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        out.write(header.length() & 0xFF);
        out.write(header.length() >> 8);
        out.write(header.getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        return out.toByteArray();
    }

    /** Mean cross-entropy of a model on the data, computed here from its logits. */
    private double crossEntropy(Path file) throws Exception {
        float[] logits;
        try (ModelRunner r = ModelRunner.open(OnnxReader.read(file), RunOptions.reference())) {
            logits = r.run(Map.of("x", Tensor.ofFloats("x", new long[] {N, C}, x)), List.of("logits")).get("logits")
                    .toFloatArray();
        }
        double total = 0;
        for (int i = 0; i < N; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < C; j++) {
                max = Math.max(max, logits[i * C + j]);
            }
            double sum = 0;
            for (int j = 0; j < C; j++) {
                sum += Math.exp(logits[i * C + j] - max);
            }
            total += Math.log(sum) + max - logits[(int) (i * C + y[i])];
        }
        return total / N;
    }

    private static byte[] initializer(Path file, String name) throws Exception {
        ByteBuffer b = OnnxReader.read(file).graph().initializer(name).initializer().rawBytes();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void fineTuningASmallModelLowersItsLoss() throws Exception {
        Path out = dir.resolve("tuned.onnx");
        byte[] input = Files.readAllBytes(model);
        CliRun r = CliRun.of("finetune", model.toString(), "-o", out.toString(), "--data", labelled.toString(),
                "--epochs", "6", "--batch", "32", "--threads", "1", "--optimizer", "adamw", "--lr", "0.01");
        assertEquals(0, r.exitCode(), r.err() + r.out());
        assertTrue(r.out().contains("96 steps of 32 (6.00 epochs)") && r.out().contains("minimizing cross-entropy"), r.out());
        Matcher m = Pattern.compile("loss ([0-9.]+) \\(first 10% of steps\\) -> ([0-9.]+) \\(last 10%\\)").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(Double.parseDouble(m.group(2)) < 0.6 * Double.parseDouble(m.group(1)), r.out());
        double before = crossEntropy(model);
        double after = crossEntropy(out);
        assertTrue(after < 0.6 * before, "cross-entropy of the written model " + before + " -> " + after);
        assertArrayEquals(input, Files.readAllBytes(model), "the input is never changed");
        assertFalse(r.out().contains("top-1"), "no reference test set for a model that is not a reference model");
    }

    @Test
    void aTeacherTeachesWithoutLabelsAndFrozenWeightsStay() throws Exception {
        Path teacher = dir.resolve("teacher.onnx");
        assertEquals(0, CliRun.of("finetune", model.toString(), "-o", teacher.toString(), "--data", labelled.toString(),
                "--epochs", "6", "--batch", "32", "--optimizer", "adamw", "--lr", "0.01").exitCode());
        Path student = mlp(dir.resolve("student.onnx"), 4);
        Path out = dir.resolve("distilled.onnx");
        CliRun r = CliRun.of("finetune", student.toString(), "-o", out.toString(), "--data", unlabelled.toString(),
                "--teacher", teacher.toString(), "--epochs", "6", "--batch", "32", "--freeze", "^b", "--temperature", "1",
                "--optimizer", "adamw", "--lr", "0.01");
        assertEquals(0, r.exitCode(), r.err() + r.out());
        assertTrue(r.out().contains("KL(T=1) to the teacher") && r.out().contains("trained 2 weight tensors, 2 frozen"),
                r.out());
        assertTrue(crossEntropy(out) < 0.8 * crossEntropy(student), crossEntropy(student) + " -> " + crossEntropy(out));
        for (String b : List.of("b1", "b2")) {
            assertArrayEquals(initializer(student, b), initializer(out, b), b + " frozen");
        }
    }

    @Test
    void checkpointsGoNextToTheOutputByDefault() throws Exception {
        Path out = dir.resolve("tuned.onnx");
        CliRun r = CliRun.of("finetune", model.toString(), "-o", out.toString(), "--data", labelled.toString(),
                "--steps", "6", "--checkpoint-every", "3");
        assertEquals(0, r.exitCode(), r.err() + r.out());
        Path ckpt = dir.resolve("tuned.onnx.checkpoints");
        try (Stream<Path> files = Files.list(ckpt)) {
            assertEquals(List.of("step-000003.json", "step-000003.onnx", "step-000006.json", "step-000006.onnx"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertArrayEquals(initializer(out, "w1"), initializer(ckpt.resolve("step-000006.onnx"), "w1"));
    }

    @Test
    void badOptionsAreOneLineErrorsAndNothingIsWritten() throws Exception {
        Path out = dir.resolve("never.onnx");
        String[][] cases = {
            {"--data", labelled.toString(), "--epochs", "2", "--steps", "3"},
            {"--data", labelled.toString(), "--optimizer", "adam"},
            {"--data", labelled.toString(), "--alpha", "1.5"},
            {"--data", labelled.toString(), "--lr", "-1"},
            {"--data", labelled.toString(), "--freeze", "("},
            {"--data", labelled.toString(), "--steps", "4", "--warmup-steps", "4"},
            {"--data", labelled.toString(), "--freeze", "."},
            {"--data", labelled.toString(), "--batch", "0"},
            {"--checkpoint-dir", dir.toString(), "--data", labelled.toString()},
            {},
        };
        for (String[] extra : cases) {
            String[] args = Stream.concat(Stream.of("finetune", model.toString(), "-o", out.toString()), Stream.of(extra))
                    .toArray(String[]::new);
            CliRun r = CliRun.of(args);
            assertEquals(2, r.exitCode(), String.join(" ", extra) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), String.join(" ", extra) + ": " + r.err());
            assertFalse(r.err().contains("Exception"), r.err());
            assertFalse(Files.exists(out), String.join(" ", extra));
        }
        CliRun missing = CliRun.of("finetune", dir.resolve("nope.onnx").toString(), "-o", out.toString(), "--data",
                labelled.toString());
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().contains("nope.onnx"), missing.err());
        CliRun noData = CliRun.of("finetune", model.toString(), "-o", out.toString(), "--data",
                dir.resolve("absent.npz").toString());
        assertEquals(2, noData.exitCode());
        assertTrue(noData.err().contains("absent.npz"), noData.err());
    }

    @Test
    void aFailedRunLeavesNoOutputAndTheInputAsItWas() throws Exception {
        Path out = dir.resolve("never.onnx");
        byte[] input = Files.readAllBytes(model);
        CliRun noLabels = CliRun.of("finetune", model.toString(), "-o", out.toString(), "--data", unlabelled.toString());
        assertEquals(2, noLabels.exitCode());
        assertTrue(noLabels.err().contains("x.npy") && noLabels.err().contains("no labels"), noLabels.err());

        CliRun diverged = CliRun.of("finetune", model.toString(), "-o", out.toString(), "--data", labelled.toString(),
                "--lr", "1e30", "--clip-norm", "0", "--warmup-steps", "0");
        assertEquals(2, diverged.exitCode(), diverged.out() + diverged.err());
        assertTrue(diverged.err().contains("mlp.onnx: training diverged"), diverged.err());
        assertFalse(Files.exists(out));

        CliRun self = CliRun.of("finetune", model.toString(), "-o", model.toString(), "--data", labelled.toString());
        assertEquals(2, self.exitCode());
        assertTrue(self.err().contains("--force"), self.err());
        assertArrayEquals(input, Files.readAllBytes(model));
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary files left");
        }
    }

    @Test
    void aReferenceTeacherBringsItsDataAndTestSetToItsCompressedCopy() throws Exception {
        Path vit = ReferenceModels.locate().get("vit").file();
        // a copy of the ViT that is no longer the reference file (one bias scaled by 1.001)
        Model copy = OnnxReader.read(vit);
        Value bias = copy.graph().initializers().stream().filter(v -> v.initializer().rank() == 1).findFirst()
                .orElseThrow();
        float[] values = bias.initializer().toFloatArray();
        for (int i = 0; i < values.length; i++) {
            values[i] *= 1.001f;
        }
        copy.graph().setInitializerData(bias, Tensor.ofFloats(bias.name(), bias.initializer().dims(), values));
        Path student = dir.resolve("vit-copy.onnx");
        OnnxWriter.write(copy, student);
        Path out = dir.resolve("vit-tuned.onnx");
        CliRun r = CliRun.of("finetune", student.toString(), "-o", out.toString(), "--steps", "2", "--limit", "128",
                "--teacher", vit.toString(), "--lr", "1e-4");
        assertEquals(0, r.exitCode(), r.err() + r.out());
        assertTrue(r.out().contains("2 steps of 64 (1.00 epochs)"), "128 items of the training subset: " + r.out());
        assertTrue(r.out().contains("0.5·cross-entropy + 0.5·KL(T=2)"), r.out());
        Matcher m = Pattern.compile("top-1 on the reference test set \\(10000 items\\): ([0-9.]+) -> ([0-9.]+)")
                .matcher(r.out());
        assertTrue(m.find(), r.out());
        assertEquals(Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)), 0.01,
                "two tiny steps towards the original barely move it");
        assertTrue(Files.isRegularFile(out));
    }

    @Test
    void helpNamesEveryOption() {
        CliRun r = CliRun.of("finetune", "--help");
        assertEquals(0, r.exitCode());
        for (String o : List.of("--data", "--teacher", "--epochs", "--steps", "--lr", "--batch", "--optimizer",
                "--weight-decay", "--warmup-steps", "--clip-norm", "--temperature", "--alpha", "--freeze", "--seed",
                "--checkpoint-every", "--checkpoint-dir", "--limit")) {
            assertTrue(r.out().contains(o), o + " in\n" + r.out());
        }
    }
}
