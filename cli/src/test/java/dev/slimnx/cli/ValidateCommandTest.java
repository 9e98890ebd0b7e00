package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The validator's honesty checks through the command line. The classifier is logits = x · W on
 * data labelled argmax(x): with W the identity it is exactly right, so any accuracy the report
 * loses comes from the perturbation the test makes.
 */
class ValidateCommandTest {
    static final int N = 400;
    static final int C = 10;

    @TempDir
    Path dir;
    Path baseline;
    Path perturbed;
    Path data;

    private Path classifier(String name, float noise, long seed) throws Exception {
        float[] w = new float[C * C];
        Random r = new Random(seed);
        for (int i = 0; i < C; i++) {
            for (int j = 0; j < C; j++) {
                w[i * C + j] = (i == j ? 1 : 0) + noise * (float) r.nextGaussian();
            }
        }
        GraphBuilder b = new GraphBuilder(17);
        var x = b.input("x", DataType.FLOAT, "batch", C);
        var wv = b.initializer(Tensor.ofFloats("w", new long[] {C, C}, w));
        b.output(b.op("MatMul", x, wv), DataType.FLOAT, "batch", C);
        Path p = dir.resolve(name);
        OnnxWriter.write(b.build(), p);
        return p;
    }

    /** A .npz with x [N, C] standard normal and labels = argmax of each row. */
    private Path npz() throws Exception {
        Random r = new Random(7);
        ByteBuffer x = ByteBuffer.allocate(N * C * 4).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer y = ByteBuffer.allocate(N * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < N; i++) {
            int best = 0;
            float bestV = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < C; j++) {
                float v = (float) r.nextGaussian();
                x.putFloat(v);
                if (v > bestV) {
                    bestV = v;
                    best = j;
                }
            }
            y.putLong(best);
        }
        Path f = dir.resolve("data.npz");
        try (OutputStream os = Files.newOutputStream(f); ZipOutputStream zip = new ZipOutputStream(os)) {
            entry(zip, "x", npy("<f4", "(" + N + ", " + C + ")", x.array()));
            entry(zip, "labels", npy("<i8", "(" + N + ",)", y.array()));
        }
        return f;
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

    @BeforeEach
    void setUp() throws Exception {
        baseline = classifier("base.onnx", 0, 1);
        perturbed = classifier("perturbed.onnx", 0.8f, 2);
        data = npz();
    }

    @Test
    void aModelAgainstItselfIsIdentical() throws Exception {
        Path json = dir.resolve("self.json");
        CliRun r = CliRun.of("validate", baseline.toString(), baseline.toString(), "--data", data.toString(),
                "--iterations", "20", "--warmup", "3", "--report", json.toString(), "--gate", "agreement >= 1",
                "--gate", "top1_drop <= 0");
        assertEquals(0, r.exitCode(), r.err() + r.out());
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        assertEquals(N, j.path("data").path("items").asLong());
        assertEquals(1.0, j.path("accuracy").path("baseline_top1").asDouble(), "W = identity is exactly right");
        assertEquals(1.0, j.path("accuracy").path("agreement").asDouble());
        assertEquals(0.0, j.path("accuracy").path("top1_diff").asDouble());
        assertEquals(0.0, j.path("outputs").get(0).path("max_abs").asDouble());
        assertTrue(j.path("outputs").get(0).path("identical").asBoolean());
        assertEquals(20, j.path("latency").get(0).path("baseline").path("samples").asInt());
        assertTrue(j.path("passed").asBoolean());
    }

    @Test
    void aPerturbedCandidateLosesAccuracyAndFailsTheGate() throws Exception {
        Path json = dir.resolve("r.json");
        Path junit = dir.resolve("r.xml");
        Path md = dir.resolve("r.md");
        CliRun r = CliRun.of("validate", baseline.toString(), perturbed.toString(), "--data", data.toString(),
                "--no-latency", "--report", json.toString(), "--report", junit.toString(), "--report", md.toString(),
                "--gate", "top1_drop <= 0.5");
        assertEquals(1, r.exitCode(), r.err() + r.out());
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        double drop = 100 * (j.path("accuracy").path("baseline_top1").asDouble() - j.path("accuracy").path("candidate_top1").asDouble());
        assertTrue(drop > 5, "noise 0.8 on the weights costs accuracy, got a drop of " + drop);
        assertTrue(j.path("accuracy").path("top1_diff_ci95").get(1).asDouble() < 0, "the loss is significant");
        assertTrue(j.path("outputs").get(0).path("sqnr_db").asDouble() < 20);
        assertTrue(r.out().contains("top1_drop <= 0.5: FAILED"), r.out());
        assertTrue(Files.readString(junit).contains("<failure message=\"top1_drop &lt;= 0.5: FAILED"), Files.readString(junit));
        assertTrue(Files.readString(md).startsWith("# slimnx validation: FAILED"));
    }

    @Test
    void badGatesAndReportsAreRefusedBeforeAnyWork() {
        CliRun gate = CliRun.of("validate", baseline.toString(), perturbed.toString(), "--data", data.toString(),
                "--gate", "accuracy is fine");
        assertEquals(2, gate.exitCode());
        assertTrue(gate.err().contains("is not of the form FIELD OP NUMBER"), gate.err());
        CliRun field = CliRun.of("validate", baseline.toString(), perturbed.toString(), "--data", data.toString(),
                "--no-latency", "--gate", "speed >= 2");
        assertEquals(2, field.exitCode());
        assertTrue(field.err().contains("unknown field 'speed'; known: agreement"), field.err());
        CliRun report = CliRun.of("validate", baseline.toString(), perturbed.toString(), "--report", "out.pdf");
        assertEquals(2, report.exitCode());
        assertTrue(report.err().contains("out.pdf: unknown report format"), report.err());
    }

    @Test
    void outputsTaskJudgesOutputErrorOnly() throws Exception {
        Path json = dir.resolve("o.json");
        CliRun r = CliRun.of("validate", baseline.toString(), perturbed.toString(), "--data", data.toString(),
                "--no-latency", "--task", "outputs", "--report", json.toString(), "--gate", "top1_drop <= 1");
        assertEquals(1, r.exitCode(), r.err() + r.out());
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        assertTrue(j.path("accuracy").isNull());
        assertTrue(j.path("outputs").get(0).path("max_abs").asDouble() > 0);
        assertTrue(r.out().contains("top1_drop could not be measured"), r.out());
        CliRun bad = CliRun.of("validate", baseline.toString(), perturbed.toString(), "--task", "detection");
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().contains("chosen from the manifest when the baseline is that reference model"), bad.err());
    }

    @Test
    void cudaWithoutAGpuBuildSaysWhatIsMissing() {
        CliRun r = CliRun.of("validate", baseline.toString(), baseline.toString(), "--ep", "cuda");
        if (dev.slimnx.runtime.ExecutionProvider.CUDA.isAvailable()) {
            assertEquals(0, r.exitCode(), r.err());
        } else {
            assertEquals(2, r.exitCode());
            assertTrue(r.err().contains("--ep cuda is not available"), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
