package dev.slimnx.graph;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The ONNX test models of the Debian package {@code libonnx-testdata}, shared by the corpus tests. */
public final class TestModels {
    /** Where the package installs its models. */
    public static final Path ROOT = Path.of("/usr/share/libonnx-testdata/data");

    private TestModels() {
    }

    /** @return true when the package is installed */
    public static boolean available() {
        return Files.isDirectory(ROOT);
    }

    /**
     * @param subfolder e.g. {@code node}, or empty for all
     * @return every {@code model.onnx} under it, sorted
     */
    public static List<Path> models(String subfolder) {
        try (Stream<Path> s = Files.walk(ROOT.resolve(subfolder))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".onnx")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
