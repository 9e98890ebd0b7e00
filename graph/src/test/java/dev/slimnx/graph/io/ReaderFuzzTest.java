package dev.slimnx.graph.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.ModelFormatException;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.tensor.DataType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Mutates real models (bit flips, byte inserts and deletes, truncation, splicing, length prefixes
 * made huge) and checks that the reader either returns a model, which then writes back and reads
 * again, or throws {@link ModelFormatException}; never any other throwable. Runs for
 * {@code slimnx.fuzz.seconds} (default 20) with a fixed seed; every case runs on a thread with the
 * JVM's default 1 MB stack, the stack the command-line tool gets.
 */
class ReaderFuzzTest {
    private static final long SEED = 0x51_1A_0E_5EL;
    private static final Path TESTDATA = Path.of("/usr/share/libonnx-testdata/data");

    @Test
    void mutatedModelsReadOrFailCleanly() throws Exception {
        List<byte[]> seeds = seeds();
        for (byte[] s : seeds) {
            Model m = OnnxReader.read(s, "seed");
            OnnxWriter.toBytes(m); // every seed is valid to begin with
        }
        double seconds = Double.parseDouble(System.getProperty("slimnx.fuzz.seconds", "20"));
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        Random random = new Random(SEED);
        Map<String, String> failures = new LinkedHashMap<>();
        long cases = 0;
        long accepted = 0;
        int[] perMutation = new int[Mutation.values().length];
        long start = System.nanoTime();
        while (System.nanoTime() < deadline && failures.size() < 20) {
            // Batches amortize the thread start; each case still runs on the 1 MB-stack thread.
            List<byte[]> batch = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                byte[] seed = seeds.get(random.nextInt(seeds.size()));
                Mutation mutation = Mutation.values()[random.nextInt(Mutation.values().length)];
                perMutation[mutation.ordinal()]++;
                byte[] input = seed;
                int rounds = 1 + random.nextInt(3);
                for (int r = 0; r < rounds; r++) {
                    input = mutation.apply(input, random, seeds);
                }
                batch.add(input);
                names.add("case " + (cases + i) + " (" + mutation + ")");
            }
            long[] acceptedInBatch = new long[1];
            AtomicReference<Throwable> crash = new AtomicReference<>();
            Thread t = new Thread(null, () -> {
                for (int i = 0; i < batch.size(); i++) {
                    String problem = check(batch.get(i), acceptedInBatch);
                    if (problem != null) {
                        failures.putIfAbsent(problem.lines().findFirst().orElse(problem), names.get(i) + ": " + problem);
                        save(names.get(i), batch.get(i));
                    }
                }
            }, "fuzz", 1 << 20);
            t.setUncaughtExceptionHandler((th, e) -> crash.set(e));
            t.start();
            t.join();
            if (crash.get() != null) {
                throw new AssertionError("fuzz harness died", crash.get());
            }
            cases += batch.size();
            accepted += acceptedInBatch[0];
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        System.out.printf("ReaderFuzzTest: %d cases in %.1f s (%.0f/s), %d read as models, mutations %s%n",
                cases, elapsed, cases / elapsed, accepted, Arrays.toString(perMutation));
        assertTrue(cases > 0, "no case ran");
        assertEquals(Map.of(), failures, "inputs that broke the reader are in target/fuzz-failures");
    }

    /** @return null if the reader behaved, else what went wrong */
    private static String check(byte[] input, long[] accepted) {
        Model m;
        try {
            m = OnnxReader.read(input, "fuzz.onnx");
        } catch (ModelFormatException expected) {
            return null;
        } catch (Throwable t) {
            return "read threw " + trace(t);
        }
        accepted[0]++;
        byte[] written;
        try {
            written = OnnxWriter.toBytes(m);
        } catch (Throwable t) {
            return "a model that was read did not write back: " + trace(t);
        }
        try {
            OnnxReader.read(written, "rewritten.onnx");
        } catch (Throwable t) {
            return "a model the writer produced did not read again: " + trace(t);
        }
        return null;
    }

    private static String trace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        String[] lines = w.toString().split("\n");
        return String.join("\n", Arrays.copyOf(lines, Math.min(lines.length, 8)));
    }

    private static void save(String name, byte[] input) {
        try {
            Path dir = Files.createDirectories(Path.of("target", "fuzz-failures"));
            Files.write(dir.resolve(name.replaceAll("[^A-Za-z0-9_]+", "_") + ".onnx"), input);
        } catch (IOException e) {
            // keeping the input is a convenience; the failure itself is reported by the assertion
        }
    }

    // ---- seeds ----

    static List<byte[]> seeds() throws IOException {
        List<byte[]> out = new ArrayList<>();
        for (String p : List.of("node/test_if/model.onnx", "node/test_loop11/model.onnx", "node/test_scan9_sum/model.onnx",
                "node/test_conv_with_strides_padding/model.onnx", "node/test_cast_FLOAT_to_STRING/model.onnx",
                "node/test_optional_get_element_sequence/model.onnx", "simple/test_sequence_model3/model.onnx",
                "pytorch-converted/test_PReLU_1d/model.onnx", "pytorch-converted/test_BatchNorm2d_eval/model.onnx")) {
            out.add(Files.readAllBytes(TESTDATA.resolve(p)));
        }
        out.add(MalformedCorpus.base().build().toByteArray());
        out.add(LosslessRoundTripTest.everything().toByteArray());
        GraphBuilder b = new GraphBuilder(17, 7);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value h = b.op("MatMul", x, b.initializer(b.randomFloats("w1", 8, 16)));
        h = b.op("Add", h, b.initializer(b.randomFloats("b1", 16)));
        h = b.op("Relu", h);
        b.output(b.node("Softmax", b.op("MatMul", h, b.initializer(b.randomFloats("w2", 16, 4)))).attr("axis", -1L)
                .value(), DataType.FLOAT, "batch", 4);
        out.add(OnnxWriter.toBytes(b.build()));
        return out;
    }

    // ---- mutations ----

    enum Mutation {
        BIT_FLIP {
            @Override
            byte[] apply(byte[] in, Random r, List<byte[]> seeds) {
                byte[] out = in.clone();
                if (out.length > 0) {
                    out[r.nextInt(out.length)] ^= (byte) (1 << r.nextInt(8));
                }
                return out;
            }
        },
        BYTE_SET {
            @Override
            byte[] apply(byte[] in, Random r, List<byte[]> seeds) {
                byte[] out = in.clone();
                if (out.length > 0) {
                    out[r.nextInt(out.length)] = (byte) INTERESTING[r.nextInt(INTERESTING.length)];
                }
                return out;
            }
        },
        INSERT {
            @Override
            byte[] apply(byte[] in, Random r, List<byte[]> seeds) {
                int at = r.nextInt(in.length + 1);
                byte[] extra = new byte[1 + r.nextInt(4)];
                r.nextBytes(extra);
                return concat(Arrays.copyOf(in, at), extra, Arrays.copyOfRange(in, at, in.length));
            }
        },
        DELETE {
            @Override
            byte[] apply(byte[] in, Random r, List<byte[]> seeds) {
                if (in.length == 0) {
                    return in;
                }
                int at = r.nextInt(in.length);
                int n = Math.min(in.length - at, 1 + r.nextInt(4));
                return concat(Arrays.copyOf(in, at), Arrays.copyOfRange(in, at + n, in.length));
            }
        },
        TRUNCATE {
            @Override
            byte[] apply(byte[] in, Random r, List<byte[]> seeds) {
                return Arrays.copyOf(in, in.length == 0 ? 0 : r.nextInt(in.length));
            }
        },
        SPLICE {
            @Override
            byte[] apply(byte[] in, Random r, List<byte[]> seeds) {
                byte[] other = seeds.get(r.nextInt(seeds.size()));
                int at = r.nextInt(in.length + 1);
                int from = r.nextInt(other.length);
                int to = from + r.nextInt(other.length - from + 1);
                return concat(Arrays.copyOf(in, at), Arrays.copyOfRange(other, from, to),
                        Arrays.copyOfRange(in, Math.min(in.length, at + r.nextInt(16)), in.length));
            }
        },
        HUGE_LENGTH {
            @Override
            byte[] apply(byte[] in, Random r, List<byte[]> seeds) {
                List<int[]> prefixes = new ArrayList<>();
                lengthPrefixes(in, 0, in.length, prefixes, 0);
                if (prefixes.isEmpty()) {
                    return BIT_FLIP.apply(in, r, seeds);
                }
                int[] p = prefixes.get(r.nextInt(prefixes.size()));
                long[] huge = {Integer.MAX_VALUE, 0x7FFF_FFF0L, 1L << 31, 0xFFFF_FFFFL, -1L, p[2] + 1L,
                        p[2] + 1L + r.nextInt(1 << 20)};
                return concat(Arrays.copyOf(in, p[0]), MalformedCorpus.varint(huge[r.nextInt(huge.length)]),
                        Arrays.copyOfRange(in, p[0] + p[1], in.length));
            }
        },
        DUPLICATE_FIELD {
            @Override
            byte[] apply(byte[] in, Random r, List<byte[]> seeds) {
                // Repeats one length-delimited field right after itself: duplicate names, doubled data.
                List<int[]> prefixes = new ArrayList<>();
                lengthPrefixes(in, 0, in.length, prefixes, 0);
                if (prefixes.isEmpty()) {
                    return in;
                }
                int[] p = prefixes.get(r.nextInt(prefixes.size()));
                int end = p[0] + p[1] + p[2];
                return concat(Arrays.copyOf(in, end), Arrays.copyOfRange(in, p[3], end),
                        Arrays.copyOfRange(in, end, in.length));
            }
        };

        private static final int[] INTERESTING = {0x00, 0x01, 0x7F, 0x80, 0xFF, 0x08, 0x0A, 0x12, 0x1A, 0x22, 0x3A};

        abstract byte[] apply(byte[] in, Random r, List<byte[]> seeds);
    }

    /**
     * Collects {position of length varint, its size, payload length, tag position} for every
     * length-delimited field, descending into payloads that parse as messages.
     */
    static boolean lengthPrefixes(byte[] b, int start, int end, List<int[]> out, int depth) {
        int pos = start;
        int before = out.size();
        while (pos < end) {
            int tagPos = pos;
            long[] tag = readVarint(b, pos, end);
            if (tag == null || tag[0] == 0) {
                truncate(out, before);
                return false;
            }
            pos = (int) tag[1];
            int wire = (int) (tag[0] & 7);
            switch (wire) {
                case 0 -> {
                    long[] v = readVarint(b, pos, end);
                    if (v == null) {
                        truncate(out, before);
                        return false;
                    }
                    pos = (int) v[1];
                }
                case 1 -> pos += 8;
                case 5 -> pos += 4;
                case 2 -> {
                    long[] len = readVarint(b, pos, end);
                    if (len == null || len[0] < 0 || len[1] + len[0] > end) {
                        truncate(out, before);
                        return false;
                    }
                    int payload = (int) len[1];
                    out.add(new int[] {pos, payload - pos, (int) len[0], tagPos});
                    if (depth < 40) {
                        lengthPrefixes(b, payload, payload + (int) len[0], out, depth + 1);
                    }
                    pos = payload + (int) len[0];
                }
                default -> {
                    truncate(out, before);
                    return false;
                }
            }
            if (pos > end) {
                truncate(out, before);
                return false;
            }
        }
        return true;
    }

    private static void truncate(List<int[]> list, int size) {
        while (list.size() > size) {
            list.removeLast();
        }
    }

    /** @return {value, position after}, or null */
    private static long[] readVarint(byte[] b, int pos, int end) {
        long v = 0;
        for (int shift = 0; shift < 64 && pos < end; shift += 7) {
            int x = b[pos++] & 0xFF;
            v |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) {
                return new long[] {v, pos};
            }
        }
        return null;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** The deepest nesting the reader accepts must read and write on a default 1 MB stack. */
    @Test
    void deepestAcceptedNestingFitsADefaultStack() throws Exception {
        // 65 If levels: 1 + 3 * 65 = 196 message levels, just under the reader's limit of 200.
        byte[] bytes = MalformedCorpus.nestedIfs(65);
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                Model m = OnnxReader.read(bytes, "deep.onnx");
                result.set(LosslessRoundTripTest.parse(OnnxWriter.toBytes(m))
                        .equals(LosslessRoundTripTest.parse(bytes)));
            } catch (Throwable e) {
                result.set(e);
            }
        }, "deep", 1 << 20);
        t.start();
        t.join();
        assertEquals(Boolean.TRUE, result.get());
    }
}
