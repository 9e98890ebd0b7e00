package dev.slimnx.graph.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.ModelFormatException;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.io.proto.OnnxProto.StringStringEntryProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorProto;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every file of the malformed corpus is refused with a {@link ModelFormatException} that names the
 * file and the exact field path; no other exception escapes the reader.
 */
class MalformedModelTest {

    static List<MalformedCorpus.Case> cases() {
        return MalformedCorpus.cases();
    }

    private static Path corpusDir() throws URISyntaxException {
        return Path.of(MalformedModelTest.class.getResource("/malformed/" + MalformedCorpus.DATA_FILE).toURI())
                .getParent();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedWithFieldPath(MalformedCorpus.Case c) throws Exception {
        Path file = corpusDir().resolve(c.file());
        assertArrayEquals(c.bytes(), Files.readAllBytes(file),
                c.file() + " differs from what MalformedCorpus generates; regenerate the corpus");

        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxReader.read(file));

        assertEquals(file.toString(), e.file());
        assertEquals(c.fieldPath(), e.fieldPath(), e.getMessage());
        assertTrue(e.problem().contains(c.problem()), () -> "problem '" + e.problem() + "' lacks '" + c.problem() + "'");
        assertTrue(e.getMessage().startsWith(file + ": " + c.fieldPath() + ": "), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedFromMemoryToo(MalformedCorpus.Case c) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxReader.read(c.bytes(), c.file()));
        assertEquals(c.file(), e.file());
        assertEquals(c.fieldPath(), e.fieldPath(), e.getMessage());
        if (c.fieldPath().equals("graph.initializer[0].external_data") && !c.problem().equals("no location")) {
            // Without a folder there is nothing to resolve against: refused before the location is looked at.
            assertTrue(e.problem().contains("needs the model's folder"), e.problem());
        } else {
            assertTrue(e.problem().contains(c.problem()), e.problem());
        }
    }

    @Test
    void corpusFolderHoldsExactlyTheGeneratedFiles() throws Exception {
        Set<String> expected = new TreeSet<>();
        cases().forEach(c -> expected.add(c.file()));
        expected.add(MalformedCorpus.DATA_FILE);
        Set<String> actual;
        try (Stream<Path> s = Files.list(corpusDir())) {
            actual = s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(expected, actual);
        assertArrayEquals(MalformedCorpus.dataFile(), Files.readAllBytes(corpusDir().resolve(MalformedCorpus.DATA_FILE)));
    }

    @Test
    void theUnbrokenBaseModelReads() throws Exception {
        Model m = OnnxReader.read(MalformedCorpus.base().build().toByteArray(), "base.onnx");
        assertEquals(2, m.graph().nodes().size());
        assertEquals(List.of(0.5f, -1.25f, 2f, 3.5f, -4.75f, 6.125f),
                boxed(m.graph().initializer("w").initializer().toFloatArray()));
    }

    /**
     * A declared 2^40-element tensor with a few bytes of data is refused without allocating for it:
     * the reading thread allocates far less than the 4 TB the dims declare (and less than the test
     * heap, so an attempt would show as an OutOfMemoryError, not a pass).
     */
    @ParameterizedTest
    @MethodSource("enormousFiles")
    void enormousDimsAreRefusedWithoutAllocating(String name) throws Exception {
        Path file = corpusDir().resolve(name);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long before = threads.getThreadAllocatedBytes(tid);
        assertThrows(ModelFormatException.class, () -> OnnxReader.read(file));
        long allocated = threads.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < (16L << 20), "reading " + name + " allocated " + allocated + " bytes");
    }

    static List<String> enormousFiles() {
        return List.of("enormous_dims_raw.onnx", "enormous_dims_float_data.onnx", "dims_overflow.onnx",
                "complex_dims_overflow.onnx");
    }

    // ---- cases that need a folder built at test time ----

    @Test
    void symlinkPointingOutsideTheFolderIsRefused(@TempDir Path tmp) throws Exception {
        Path outside = tmp.resolve("outside.bin");
        Files.write(outside, MalformedCorpus.dataFile());
        Path modelDir = Files.createDirectory(tmp.resolve("model"));
        Files.createSymbolicLink(modelDir.resolve("weights.bin"), Path.of("..", "outside.bin"));
        Path model = modelDir.resolve("model.onnx");
        Files.write(model, withExternal("weights.bin").toByteArray());

        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxReader.read(model));
        assertEquals(model.toString(), e.file());
        assertEquals("graph.initializer[0].external_data", e.fieldPath());
        assertTrue(e.problem().contains("resolves outside the model's folder"), e.problem());
    }

    @Test
    void symlinkedFolderPointingOutsideIsRefused(@TempDir Path tmp) throws Exception {
        Path outsideDir = Files.createDirectory(tmp.resolve("elsewhere"));
        Files.write(outsideDir.resolve("weights.bin"), MalformedCorpus.dataFile());
        Path modelDir = Files.createDirectory(tmp.resolve("model"));
        Files.createSymbolicLink(modelDir.resolve("data"), outsideDir);
        Path model = modelDir.resolve("model.onnx");
        Files.write(model, withExternal("data/weights.bin").toByteArray());

        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxReader.read(model));
        assertEquals("graph.initializer[0].external_data", e.fieldPath());
        assertTrue(e.problem().contains("resolves outside the model's folder"), e.problem());
    }

    @Test
    void symlinkStayingInsideTheFolderIsAccepted(@TempDir Path tmp) throws Exception {
        Files.createDirectory(tmp.resolve("blobs"));
        Files.write(tmp.resolve("blobs/real.bin"), MalformedCorpus.dataFile());
        Files.createSymbolicLink(tmp.resolve("weights.bin"), Path.of("blobs", "real.bin"));
        Path model = tmp.resolve("model.onnx");
        Files.write(model, withExternal("weights.bin").toByteArray());

        Model m = OnnxReader.read(model);
        assertEquals(List.of(0.5f, -1.25f, 2f, 3.5f, -4.75f, 6.125f),
                boxed(m.graph().initializer("w").initializer().toFloatArray()));
    }

    @Test
    void locationNamingAFolderIsRefused(@TempDir Path tmp) throws Exception {
        Files.createDirectory(tmp.resolve("weights.bin"));
        Path model = tmp.resolve("model.onnx");
        Files.write(model, withExternal("weights.bin").toByteArray());

        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxReader.read(model));
        assertEquals("graph.initializer[0].external_data", e.fieldPath());
        assertTrue(e.problem().contains("not a regular file"), e.problem());
    }

    @Test
    void missingFileAndFolderAreNamed(@TempDir Path tmp) {
        Path missing = tmp.resolve("missing.onnx");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxReader.read(missing));
        assertEquals(missing.toString(), e.file());
        assertEquals("no such file", e.problem());
        ModelFormatException d = assertThrows(ModelFormatException.class, () -> OnnxReader.read(tmp));
        assertEquals("not a regular file", d.problem());
    }

    static ModelProto withExternal(String location) {
        ModelProto.Builder b = MalformedCorpus.base();
        TensorProto t = MalformedCorpus.weights().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location)).build();
        return b.setGraph(b.getGraph().toBuilder().setInitializer(0, t)).build();
    }

    static List<Float> boxed(float[] a) {
        java.util.ArrayList<Float> out = new java.util.ArrayList<>();
        for (float f : a) {
            out.add(f);
        }
        return out;
    }
}
