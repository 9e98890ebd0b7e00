package dev.slimnx.validate.data;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Small models, specs and data files for the data tests. */
final class DataFixtures {
    private DataFixtures() {
    }

    /** @return a model with one input {@code name} passed through Identity */
    static Model model(String name, DataType type, Object... dims) {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input(name, type, dims);
        b.output(b.op("Identity", x));
        return b.build();
    }

    /** A mutable stand-in for the command line's options, so each test says only what it changes. */
    static final class Spec {
        Path source;
        String split;
        double scale = 1;
        List<Double> mean = List.of(0.0);
        List<Double> std = List.of(1.0);
        int resize;
        int crop;
        String layout = "NCHW";
        int limit;
        String input;
        Map<String, long[]> shapes = new HashMap<>();
        long seed;

        Spec(Path source) {
            this.source = source;
        }

        DataSpec build() {
            return new DataSpec(source, split, scale, mean, std, resize, crop, layout, limit, input, shapes, seed);
        }
    }

    /** Writes an IDX file of unsigned bytes, gzip-compressed when the name ends in .gz. */
    static Path idx(Path file, int[] dims, byte[] body) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt((0x08 << 8) | dims.length);
        for (int d : dims) {
            out.writeInt(d);
        }
        out.write(body);
        try (OutputStream f = file.toString().endsWith(".gz") ? new GZIPOutputStream(Files.newOutputStream(file))
                : Files.newOutputStream(file)) {
            f.write(bytes.toByteArray());
        }
        return file;
    }

    /** Writes prefix-images-idx3-ubyte.gz (n images of h×w, pixel = base + index) and prefix-labels-idx1-ubyte. */
    static Path idxPair(Path dir, String prefix, int n, int h, int w, int base, int label) throws IOException {
        byte[] px = new byte[n * h * w];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (base + i);
        }
        byte[] y = new byte[n];
        java.util.Arrays.fill(y, (byte) label);
        idx(dir.resolve(prefix + "-labels-idx1-ubyte"), new int[] {n}, y);
        return idx(dir.resolve(prefix + "-images-idx3-ubyte.gz"), new int[] {n, h, w}, px);
    }

    /** @return an NPY file's bytes: the given header dict padded as NumPy does, then the data */
    static byte[] npy(int version, String dict, byte[] data) {
        int lenBytes = version == 1 ? 2 : 4;
        int unpadded = 6 + 2 + lenBytes + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) version, 0});
        int len = header.length();
        for (int i = 0; i < lenBytes; i++) {
            out.write((len >>> (8 * i)) & 0xFF);
        }
        out.writeBytes(header.getBytes(StandardCharsets.UTF_8));
        out.writeBytes(data);
        return out.toByteArray();
    }
}
