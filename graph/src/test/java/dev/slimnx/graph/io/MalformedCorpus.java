package dev.slimnx.graph.io;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.slimnx.graph.io.proto.OnnxProto.AttributeProto;
import dev.slimnx.graph.io.proto.OnnxProto.GraphProto;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.io.proto.OnnxProto.NodeProto;
import dev.slimnx.graph.io.proto.OnnxProto.OperatorSetIdProto;
import dev.slimnx.graph.io.proto.OnnxProto.StringStringEntryProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorShapeProto;
import dev.slimnx.graph.io.proto.OnnxProto.TypeProto;
import dev.slimnx.graph.io.proto.OnnxProto.ValueInfoProto;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The malformed-model corpus in {@code src/test/resources/malformed}: each case is a small file
 * the reader must refuse with a {@link dev.slimnx.graph.ModelFormatException} naming the exact
 * field path. The files are generated here so they can be rebuilt and reviewed; the committed
 * copies are checked against this generator by {@code MalformedModelTest}.
 *
 * <p>Regenerate with {@code java ... dev.slimnx.graph.io.MalformedCorpus graph/src/test/resources/malformed}.
 */
public final class MalformedCorpus {
    /** The external data file that the external-data cases point into. */
    static final String DATA_FILE = "ext_weights.bin";
    /** Its size: 24 bytes, room for one FLOAT [2, 3] tensor. */
    static final int DATA_FILE_BYTES = 24;

    /**
     * @param file file name in the corpus folder
     * @param bytes its content
     * @param fieldPath the field path the reader must report
     * @param problem a fragment the problem text must contain
     */
    record Case(String file, byte[] bytes, String fieldPath, String problem) {
        @Override
        public String toString() {
            return file;
        }
    }

    private MalformedCorpus() {
    }

    /** @return every case of the corpus, in a fixed order */
    static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        byte[] good = base().build().toByteArray();

        // ---- truncation ----
        out.add(new Case("truncated_in_tensor.onnx", cutInside(good, floatBytes(WEIGHTS), 10),
                "graph.initializer[0].raw_data", "truncated"));
        out.add(new Case("truncated_in_node.onnx", cutInside(good, ascii("second_node_name"), 6),
                "graph.node[1].name", "truncated"));
        byte[] withVarint = base().setGraph(base().getGraph().toBuilder().setNode(0, base().getGraph().getNode(0)
                .toBuilder().addAttribute(AttributeProto.newBuilder().setName("big").setType(AttributeProto.AttributeType.INT)
                        .setI(BIG_VARINT)))).build().toByteArray();
        out.add(new Case("truncated_in_varint.onnx", cutInside(withVarint, varint(BIG_VARINT), 3),
                "graph.node[0].attribute[0].i", "truncated"));
        out.add(new Case("truncated_in_header.onnx", Arrays.copyOf(good, 5), "producer_name", "truncated"));

        // ---- not a model at all ----
        byte[] random = new byte[256];
        new Random(20240601L).nextBytes(random);
        out.add(new Case("random_bytes.onnx", random, "#1611", "truncated"));
        // 't' (0x74) reads as field 14 (metadata_props) with wire type end-group.
        out.add(new Case("text_file.onnx", ascii("this is not an ONNX model\n"), "metadata_props[0]",
                "wrong wire type end-group"));
        out.add(new Case("no_graph.onnx", ModelProto.newBuilder().setIrVersion(8).build().toByteArray(),
                "graph", "no graph"));

        // ---- wrong wire types ----
        out.add(new Case("graph_as_varint.onnx", concat(tag(1, 0), varint(8), tag(7, 0), varint(1234)),
                "graph", "wrong wire type"));
        NodeProto fixedOpType = base().getGraph().getNode(0).toBuilder().clearOpType()
                .setUnknownFields(UnknownFieldSet.newBuilder().addField(4,
                        UnknownFieldSet.Field.newBuilder().addFixed32(0x41646441).build()).build()).build();
        out.add(new Case("op_type_as_fixed32.onnx", withNode(0, fixedOpType), "graph.node[0].op_type",
                "wrong wire type"));
        // A repeated message field (dims of a shape) sent as fixed64 inside a nested message.
        ValueInfoProto badInput = base().getGraph().getInput(0).toBuilder().setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(TensorShapeProto.newBuilder()
                        .setUnknownFields(UnknownFieldSet.newBuilder().addField(1,
                                UnknownFieldSet.Field.newBuilder().addFixed64(0).build()).build())))).build();
        out.add(new Case("shape_dim_as_fixed64.onnx", base().setGraph(base().getGraph().toBuilder().setInput(0, badInput))
                .build().toByteArray(), "graph.input[0].type.tensor_type.shape.dim", "wrong wire type"));

        // ---- dims and sizes ----
        out.add(new Case("negative_dim.onnx", withInit(0, weights().clearDims().addDims(2).addDims(-3)),
                "graph.initializer[0].dims[1]", "negative"));
        out.add(new Case("enormous_dims_raw.onnx", withInit(0, weights().clearDims().addDims(1L << 20).addDims(1L << 20)),
                "graph.initializer[0].raw_data", "need 4398046511104"));
        out.add(new Case("enormous_dims_float_data.onnx", withInit(0, weights().clearRawData().clearDims()
                .addDims(1L << 40).addAllFloatData(List.of(1f, 2f, 3f, 4f))),
                "graph.initializer[0].float_data", "need 1099511627776"));
        out.add(new Case("dims_overflow.onnx", withInit(0, weights().clearDims().addDims(1L << 62).addDims(4)),
                "graph.initializer[0].dims", "overflows"));
        out.add(new Case("complex_dims_overflow.onnx", withInit(0, weights().clearRawData().clearDims()
                .setDataType(dev.slimnx.graph.tensor.DataType.COMPLEX64.code()).addDims(1L << 62).addAllFloatData(List.of(1f, 2f))),
                "graph.initializer[0].float_data", "overflow"));
        out.add(new Case("raw_data_too_short.onnx", withInit(0, weights().setRawData(ByteString.copyFrom(new byte[20]))),
                "graph.initializer[0].raw_data", "holds 20 bytes"));
        out.add(new Case("float_data_count.onnx", withInit(0, weights().clearRawData().addAllFloatData(List.of(1f, 2f, 3f))),
                "graph.initializer[0].float_data", "holds 3 values"));
        out.add(new Case("float16_int32_data_count.onnx", withNode(0, base().getGraph().getNode(0).toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR)
                        .setT(TensorProto.newBuilder().setDataType(dev.slimnx.graph.tensor.DataType.FLOAT16.code()).addDims(3)
                                .addAllInt32Data(List.of(0x3C00, 0x4000)))).build()),
                "graph.node[0].attribute[0].t.int32_data", "holds 2 values"));
        out.add(new Case("float_in_int64_data.onnx", withInit(0, weights().clearRawData().addAllInt64Data(
                List.of(1L, 2L, 3L, 4L, 5L, 6L))), "graph.initializer[0].int64_data", "cannot be stored in int64_data"));

        // ---- external data (the data file sits next to the corpus files) ----
        out.add(new Case("external_absolute.onnx", withInit(0, external("/etc/passwd", "0", "24")),
                "graph.initializer[0].external_data", "absolute"));
        out.add(new Case("external_dotdot.onnx", withInit(0, external("sub/../../" + DATA_FILE, "0", "24")),
                "graph.initializer[0].external_data", "contains '..'"));
        out.add(new Case("external_offset_past_end.onnx", withInit(0, external(DATA_FILE, "4096", null)),
                "graph.initializer[0].external_data", "offset 4096 is outside"));
        out.add(new Case("external_length_past_end.onnx", withInit(0, external(DATA_FILE, "8", "24")),
                "graph.initializer[0].external_data", "runs past the end"));
        out.add(new Case("external_offset_not_numeric.onnx", withInit(0, external(DATA_FILE, "0x10", "24")),
                "graph.initializer[0].external_data[1]", "not an integer"));
        out.add(new Case("external_missing_file.onnx", withInit(0, external("no_such_weights.bin", "0", "24")),
                "graph.initializer[0].external_data", "does not exist"));
        out.add(new Case("external_no_location.onnx", withInit(0, external(null, "0", "24")),
                "graph.initializer[0].external_data", "no location"));

        // ---- graph structure ----
        GraphProto g = base().getGraph();
        out.add(new Case("cycle.onnx", withGraph(g.toBuilder().setNode(0, g.getNode(0).toBuilder().setInput(0, "y"))),
                "graph.node[0]", "cycle"));
        out.add(new Case("self_loop.onnx", withGraph(g.toBuilder().setNode(1, g.getNode(1).toBuilder().setInput(0, "y"))),
                "graph.node[1]", "cycle"));
        GraphProto readsOwner = GraphProto.newBuilder().setName("then")
                .addNode(NodeProto.newBuilder().setOpType("Identity").addInput("y").addOutput("inner"))
                .addOutput(ValueInfoProto.newBuilder().setName("inner")).build();
        out.add(new Case("subgraph_reads_own_output.onnx", withGraph(g.toBuilder().setNode(1, NodeProto.newBuilder()
                .setOpType("If").addInput("a").addOutput("y").addAttribute(AttributeProto.newBuilder()
                        .setName("then_branch").setType(AttributeProto.AttributeType.GRAPH).setG(readsOwner)))),
                "graph.node[1]", "cycle"));
        out.add(new Case("duplicate_node_output.onnx", withGraph(g.toBuilder().setNode(1, g.getNode(1).toBuilder()
                .setOutput(0, "a")).setOutput(0, g.getOutput(0).toBuilder().setName("a"))),
                "graph.node[1].output[0]", "defined twice"));
        out.add(new Case("duplicate_initializer.onnx", withGraph(g.toBuilder().addInitializer(weights())),
                "graph.initializer[1].name", "defined twice"));
        out.add(new Case("output_shadows_input.onnx", withGraph(g.toBuilder().setNode(0, g.getNode(0).toBuilder()
                .setOutput(0, "x")).setNode(1, g.getNode(1).toBuilder().setInput(0, "x"))),
                "graph.node[0].output[0]", "defined twice"));
        out.add(new Case("undefined_node_input.onnx", withGraph(g.toBuilder().setNode(1, g.getNode(1).toBuilder()
                .setInput(0, "nowhere"))), "graph.node[1].input[0]", "'nowhere'"));
        out.add(new Case("undefined_graph_output.onnx", withGraph(g.toBuilder().addOutput(ValueInfoProto.newBuilder()
                .setName("ghost"))), "graph.output[1]", "'ghost'"));
        out.add(new Case("unnamed_initializer.onnx", withInit(0, weights().setName("")),
                "graph.initializer[0].name", "no name"));

        // ---- strings ----
        NodeProto badName = base().getGraph().getNode(0).toBuilder().clearName().setUnknownFields(UnknownFieldSet
                .newBuilder().addField(3, UnknownFieldSet.Field.newBuilder().addLengthDelimited(
                        ByteString.copyFrom(new byte[] {'n', (byte) 0xC3, (byte) 0x28, 'x'})).build()).build()).build();
        out.add(new Case("invalid_utf8_node_name.onnx", withNode(0, badName), "graph.node[0].name", "UTF-8"));

        // ---- nesting bombs ----
        out.add(new Case("nested_subgraphs_1000.onnx", nestedIfs(1000), nestedIfPath(), "nested more than"));
        out.add(new Case("nested_sequence_types_1000.onnx", nestedSequenceTypes(1000), nestedSequencePath(),
                "nested more than"));
        return out;
    }

    // ---- the well-formed model every case starts from ----

    static final float[] WEIGHTS = {0.5f, -1.25f, 2f, 3.5f, -4.75f, 6.125f};
    static final long BIG_VARINT = 0x1234_5678_9ABCL;

    /**
     * x[2,3] + w → a; Relu(a) → y. The second node is named {@code second_node_name} so that a
     * truncation can be placed inside it.
     */
    static ModelProto.Builder base() {
        GraphProto g = GraphProto.newBuilder()
                .setName("corpus")
                .addNode(NodeProto.newBuilder().setOpType("Add").setName("first").addInput("x").addInput("w").addOutput("a"))
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("second_node_name").addInput("a").addOutput("y"))
                .addInitializer(weights())
                .addInput(floatInfo("x"))
                .addOutput(floatInfo("y"))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("slimnx-corpus")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).setGraph(g);
    }

    static TensorProto.Builder weights() {
        return TensorProto.newBuilder().setName("w").setDataType(dev.slimnx.graph.tensor.DataType.FLOAT.code()).addDims(2).addDims(3)
                .setRawData(ByteString.copyFrom(floatBytes(WEIGHTS)));
    }

    private static ValueInfoProto floatInfo(String name) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(1).setShape(TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2))
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(3))))).build();
    }

    private static TensorProto.Builder external(String location, String offset, String length) {
        TensorProto.Builder b = weights().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL);
        if (location != null) {
            b.addExternalData(entry("location", location));
        }
        if (offset != null) {
            b.addExternalData(entry("offset", offset));
        }
        if (length != null) {
            b.addExternalData(entry("length", length));
        }
        return b;
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static byte[] withInit(int index, TensorProto.Builder t) {
        return withGraph(base().getGraph().toBuilder().setInitializer(index, t));
    }

    private static byte[] withNode(int index, NodeProto n) {
        return withGraph(base().getGraph().toBuilder().setNode(index, n));
    }

    private static byte[] withGraph(GraphProto.Builder g) {
        return base().setGraph(g).build().toByteArray();
    }

    // ---- nesting ----

    /**
     * {@code depth} If nodes, each holding the next in its then_branch, encoded by hand: building
     * them with the generated classes would itself recurse {@code 3 * depth} deep.
     */
    static byte[] nestedIfs(int depth) {
        byte[] graph = new byte[0];
        for (int i = 0; i < depth; i++) {
            byte[] attribute = concat(bytesField(1, ascii("then_branch")), tag(20, 0), varint(5), bytesField(6, graph));
            byte[] node = concat(bytesField(1, ascii("c")), bytesField(2, ascii("o" + i)), bytesField(4, ascii("If")),
                    bytesField(5, attribute));
            graph = bytesField(1, node);
        }
        graph = concat(graph, bytesField(11, bytesField(1, ascii("c")))); // input c, read at every level
        return concat(tag(1, 0), varint(8), bytesField(7, graph));
    }

    /** The reader stops at {@link OnnxReader#RECURSION_LIMIT} messages: graph, then (node, attribute, g) triples. */
    static String nestedIfPath() {
        StringBuilder p = new StringBuilder("graph");
        int depth = 1;
        while (true) {
            for (String step : new String[] {".node[0]", ".attribute[0]", ".g"}) {
                p.append(step);
                depth++;
                if (depth > OnnxReader.RECURSION_LIMIT) {
                    return p.toString();
                }
            }
        }
    }

    /** A graph input whose type is a sequence of a sequence of ... {@code depth} deep. */
    static byte[] nestedSequenceTypes(int depth) {
        byte[] type = bytesField(1, concat(tag(1, 0), varint(1))); // tensor_type { elem_type: FLOAT }
        for (int i = 0; i < depth; i++) {
            type = bytesField(4, bytesField(1, type)); // sequence_type { elem_type: <type> }
        }
        byte[] input = concat(bytesField(1, ascii("x")), bytesField(2, type));
        byte[] graph = bytesField(11, input);
        return concat(tag(1, 0), varint(8), bytesField(7, graph));
    }

    static String nestedSequencePath() {
        StringBuilder p = new StringBuilder("graph.input[0].type");
        int depth = 3;
        while (true) {
            for (String step : new String[] {".sequence_type", ".elem_type"}) {
                p.append(step);
                depth++;
                if (depth > OnnxReader.RECURSION_LIMIT) {
                    return p.toString();
                }
            }
        }
    }

    // ---- byte helpers ----

    static byte[] floatBytes(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return out.toByteArray();
    }

    static byte[] tag(int field, int wireType) {
        return varint(((long) field << 3) | wireType);
    }

    static byte[] bytesField(int field, byte[] content) {
        return concat(tag(field, 2), varint(content.length), content);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** @return {@code data} cut {@code into} bytes after the start of the only occurrence of {@code marker} */
    static byte[] cutInside(byte[] data, byte[] marker, int into) {
        int at = -1;
        for (int i = 0; i + marker.length <= data.length; i++) {
            if (Arrays.equals(data, i, i + marker.length, marker, 0, marker.length)) {
                if (at >= 0) {
                    throw new IllegalStateException("marker occurs twice");
                }
                at = i;
            }
        }
        if (at < 0) {
            throw new IllegalStateException("marker not found");
        }
        return Arrays.copyOf(data, at + into);
    }

    /** @return the external data file the external cases point into */
    static byte[] dataFile() {
        return floatBytes(WEIGHTS);
    }

    /**
     * Writes the corpus.
     *
     * @param args the target folder
     * @throws IOException on failure
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "graph/src/test/resources/malformed");
        Files.createDirectories(dir);
        for (Case c : cases()) {
            Files.write(dir.resolve(c.file()), c.bytes());
        }
        Files.write(dir.resolve(DATA_FILE), dataFile());
    }
}
