package dev.slimnx.graph.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class RoundTripSmokeTest {
    @Test
    void smoke() throws Exception {
        Path root = Path.of("/usr/share/libonnx-testdata/data");
        List<Path> models;
        try (Stream<Path> s = Files.walk(root)) {
            models = s.filter(p -> p.getFileName().toString().endsWith(".onnx")).sorted().toList();
        }
        List<String> failures = new ArrayList<>();
        for (Path p : models) {
            try {
                ModelProto original = ModelProto.parseFrom(Files.readAllBytes(p));
                Model m = OnnxReader.read(p);
                ModelProto back = ModelProto.parseFrom(OnnxWriter.toBytes(m));
                if (!original.equals(back)) {
                    failures.add(p + ": differs");
                }
            } catch (Exception e) {
                failures.add(p + ": " + e);
            }
        }
        System.out.println(models.size() + " models, " + failures.size() + " failures");
        failures.stream().limit(40).forEach(System.out::println);
        assertEquals(0, failures.size());
    }
}
