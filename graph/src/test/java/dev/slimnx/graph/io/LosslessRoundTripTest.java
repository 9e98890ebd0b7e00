package dev.slimnx.graph.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnknownFieldSet;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.proto.OnnxProto.AttributeProto;
import dev.slimnx.graph.io.proto.OnnxProto.AttributeProto.AttributeType;
import dev.slimnx.graph.io.proto.OnnxProto.DeviceConfigurationProto;
import dev.slimnx.graph.io.proto.OnnxProto.FunctionProto;
import dev.slimnx.graph.io.proto.OnnxProto.GraphProto;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.io.proto.OnnxProto.NodeDeviceConfigurationProto;
import dev.slimnx.graph.io.proto.OnnxProto.NodeProto;
import dev.slimnx.graph.io.proto.OnnxProto.OperatorSetIdProto;
import dev.slimnx.graph.io.proto.OnnxProto.SparseTensorProto;
import dev.slimnx.graph.io.proto.OnnxProto.StringStringEntryProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorAnnotation;
import dev.slimnx.graph.io.proto.OnnxProto.TensorProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorShapeProto;
import dev.slimnx.graph.io.proto.OnnxProto.TrainingInfoProto;
import dev.slimnx.graph.io.proto.OnnxProto.TypeProto;
import dev.slimnx.graph.io.proto.OnnxProto.ValueInfoProto;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Load → save keeps every field: messages are built with the generated classes, read into the IR,
 * written back, and the re-parsed message must equal the original (unknown fields included).
 */
class LosslessRoundTripTest {

    // ---- building blocks ----

    /** Unknown fields of every wire type, numbered where ONNX will not go, marked with {@code tag}. */
    static UnknownFieldSet unknown(String tag) {
        return UnknownFieldSet.newBuilder()
                .addField(9001, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFromUtf8(tag)).build())
                .addField(9002, UnknownFieldSet.Field.newBuilder().addVarint(tag.length() * 1000L + 7).build())
                .addField(9003, UnknownFieldSet.Field.newBuilder().addFixed32(0xCAFE).addFixed64(-3L).build())
                .addField(9004, UnknownFieldSet.Field.newBuilder().addGroup(UnknownFieldSet.newBuilder()
                        .addField(1, UnknownFieldSet.Field.newBuilder().addVarint(42).build()).build()).build())
                .build();
    }

    static StringStringEntryProto kv(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    static TypeProto floatTensor(Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Integer i) {
                db.setDimValue(i);
            } else if (d instanceof String s) {
                db.setDimParam(s);
            }
            shape.addDim(db);
        }
        return TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape)).build();
    }

    static ValueInfoProto info(String name, TypeProto type) {
        return ValueInfoProto.newBuilder().setName(name).setType(type).build();
    }

    static TensorProto floats(String name, float... values) {
        return TensorProto.newBuilder().setName(name).setDataType(DataType.FLOAT.code()).addDims(values.length)
                .setRawData(ByteString.copyFrom(MalformedCorpus.floatBytes(values))).build();
    }

    static NodeProto node(String op, List<String> in, List<String> out) {
        return NodeProto.newBuilder().setOpType(op).addAllInput(in).addAllOutput(out).build();
    }

    /**
     * A model using every part of the format: unknown fields at each level, doc strings,
     * metadata, value_info, functions with attribute references, sparse initializers, training
     * info, quantization annotations, device configurations, every typed data field, every
     * attribute kind and type variant, If and Loop bodies reading outer-scope values.
     */
    static ModelProto everything() {
        TypeProto seqType = TypeProto.newBuilder().setSequenceType(TypeProto.Sequence.newBuilder()
                .setElemType(floatTensor("n"))).setDenotation("SEQ").build();
        TypeProto mapType = TypeProto.newBuilder().setMapType(TypeProto.Map.newBuilder().setKeyType(7)
                .setValueType(floatTensor())).build();
        TypeProto optType = TypeProto.newBuilder().setOptionalType(TypeProto.Optional.newBuilder()
                .setElemType(seqType)).build();
        TypeProto sparseType = TypeProto.newBuilder().setSparseTensorType(TypeProto.SparseTensor.newBuilder()
                .setElemType(1).setShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder()
                        .setDimValue(4).setDenotation("DATA_FEATURE")))).build();
        TypeProto opaqueType = TypeProto.newBuilder().setOpaqueType(TypeProto.Opaque.newBuilder().setDomain("com.x")
                .setName("Blob")).build();
        TypeProto unsetType = TypeProto.newBuilder().setDenotation("NOTHING").build();
        TypeProto typedWithUnknown = floatTensor("batch", null, 3).toBuilder().setUnknownFields(unknown("type")).build();

        // If: then reads outer x, else reads outer initializer w.
        GraphProto thenBranch = GraphProto.newBuilder().setName("then")
                .addNode(node("Neg", List.of("x"), List.of("then_out")))
                .addOutput(info("then_out", floatTensor("batch", 3))).build();
        GraphProto elseBranch = GraphProto.newBuilder().setName("else")
                .addNode(node("Identity", List.of("w"), List.of("else_out")))
                .addOutput(info("else_out", floatTensor(3))).build();
        // Loop: body reads outer x and carries one value.
        GraphProto loopBody = GraphProto.newBuilder().setName("body")
                .addInput(info("iter", TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(7)).build()))
                .addInput(info("cond_in", TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(9)).build()))
                .addInput(info("carried", floatTensor("batch", 3)))
                .addNode(node("Identity", List.of("cond_in"), List.of("cond_out")))
                .addNode(node("Add", List.of("carried", "x"), List.of("carried_out")))
                .addOutput(info("cond_out", TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(9)).build()))
                .addOutput(info("carried_out", floatTensor("batch", 3))).build();

        TensorProto float16Data = TensorProto.newBuilder().setName("h16").setDataType(DataType.FLOAT16.code()).addDims(2)
                .addInt32Data(0x3C00).addInt32Data(0xC000).build();
        TensorProto int4Data = TensorProto.newBuilder().setName("i4").setDataType(DataType.INT4.code()).addDims(3)
                .addInt32Data(0xF7).addInt32Data(0x08).build();
        TensorProto stringData = TensorProto.newBuilder().setName("str").setDataType(DataType.STRING.code()).addDims(2)
                .addStringData(ByteString.copyFromUtf8("héllo")).addStringData(ByteString.copyFrom(new byte[] {0, (byte) 0xFF}))
                .build();
        TensorProto uint64Data = TensorProto.newBuilder().setName("u64").setDataType(DataType.UINT64.code()).addDims(2)
                .addUint64Data(-1L).addUint64Data(5).build();
        TensorProto uint32Data = TensorProto.newBuilder().setName("u32").setDataType(DataType.UINT32.code()).addDims(1)
                .addUint64Data(0xFFFF_FFFFL).build();
        TensorProto int64Data = TensorProto.newBuilder().setName("i64").setDataType(DataType.INT64.code()).addDims(2)
                .addInt64Data(Long.MIN_VALUE).addInt64Data(3).build();
        TensorProto doubleData = TensorProto.newBuilder().setName("f64").setDataType(DataType.DOUBLE.code()).addDims(1)
                .addDoubleData(Math.PI).setDocString("pi").build();
        TensorProto floatData = TensorProto.newBuilder().setName("f32").setDataType(DataType.FLOAT.code()).addDims(3)
                .addFloatData(1.5f).addFloatData(Float.NaN).addFloatData(-0f)
                .setSegment(TensorProto.Segment.newBuilder().setBegin(0).setEnd(3))
                .addMetadataProps(kv("origin", "float_data")).build();

        SparseTensorProto sparse = SparseTensorProto.newBuilder()
                .setValues(floats("sp", 1f, 2f))
                .setIndices(TensorProto.newBuilder().setName("sp_idx").setDataType(DataType.INT64.code()).addDims(2)
                        .addInt64Data(0).addInt64Data(3))
                .addDims(4).build();

        NodeProto everyAttribute = NodeProto.newBuilder().setOpType("Everything").setDomain("com.slimnx.test")
                .setName("all_attrs").addInput("x").addInput("").addInput("w").addOutput("e0").addOutput("")
                .setOverload("v2").setDocString("every attribute kind")
                .addMetadataProps(kv("note", "node"))
                .addDeviceConfigurations(NodeDeviceConfigurationProto.newBuilder().setConfigurationId("cfg0")
                        .setPipelineStage(1))
                .addAttribute(AttributeProto.newBuilder().setName("f").setType(AttributeType.FLOAT).setF(0.25f)
                        .setDocString("a float").setUnknownFields(unknown("attribute")))
                .addAttribute(AttributeProto.newBuilder().setName("i").setType(AttributeType.INT).setI(-7))
                .addAttribute(AttributeProto.newBuilder().setName("zero").setType(AttributeType.INT).setI(0))
                .addAttribute(AttributeProto.newBuilder().setName("s").setType(AttributeType.STRING)
                        .setS(ByteString.copyFrom(new byte[] {'a', (byte) 0xFE})))
                .addAttribute(AttributeProto.newBuilder().setName("t").setType(AttributeType.TENSOR).setT(float16Data))
                .addAttribute(AttributeProto.newBuilder().setName("g").setType(AttributeType.GRAPH).setG(thenBranch))
                .addAttribute(AttributeProto.newBuilder().setName("floats").setType(AttributeType.FLOATS)
                        .addFloats(1f).addFloats(-2f))
                .addAttribute(AttributeProto.newBuilder().setName("ints").setType(AttributeType.INTS)
                        .addInts(1).addInts(Long.MAX_VALUE))
                .addAttribute(AttributeProto.newBuilder().setName("strings").setType(AttributeType.STRINGS)
                        .addStrings(ByteString.copyFromUtf8("x")).addStrings(ByteString.EMPTY))
                .addAttribute(AttributeProto.newBuilder().setName("tensors").setType(AttributeType.TENSORS)
                        .addTensors(int4Data).addTensors(stringData).addTensors(uint32Data))
                .addAttribute(AttributeProto.newBuilder().setName("graphs").setType(AttributeType.GRAPHS)
                        .addGraphs(elseBranch))
                .addAttribute(AttributeProto.newBuilder().setName("sparse").setType(AttributeType.SPARSE_TENSOR)
                        .setSparseTensor(sparse.toBuilder().setValues(floats("sp_attr", 1f, 2f))))
                .addAttribute(AttributeProto.newBuilder().setName("sparses").setType(AttributeType.SPARSE_TENSORS)
                        .addSparseTensors(sparse.toBuilder().setValues(floats("sp_attr2", 3f, 4f))))
                .addAttribute(AttributeProto.newBuilder().setName("tp").setType(AttributeType.TYPE_PROTO).setTp(mapType))
                .addAttribute(AttributeProto.newBuilder().setName("tps").setType(AttributeType.TYPE_PROTOS)
                        .addTypeProtos(optType).addTypeProtos(opaqueType))
                .addAttribute(AttributeProto.newBuilder().setName("ir1_style").setF(3f)) // no type: IR version 1
                .setUnknownFields(unknown("node"))
                .build();

        GraphProto graph = GraphProto.newBuilder()
                .setName("main").setDocString("main graph")
                .addInput(info("x", floatTensor("batch", 3)).toBuilder().setDocString("the input")
                        .addMetadataProps(kv("unit", "px")).setUnknownFields(unknown("value_info")).build())
                .addInput(info("cond", TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(9)).build()))
                .addInput(info("seq", seqType))
                .addInput(info("mp", mapType))
                .addInput(info("opt", optType))
                .addInput(info("sparse_in", sparseType))
                .addInput(info("blob", opaqueType))
                .addInput(info("whatever", unsetType))
                .addInput(info("typed", typedWithUnknown))
                .addInput(ValueInfoProto.newBuilder().setName("untyped"))
                .addInitializer(floats("w", 0.5f, -1f, 2f).toBuilder().setUnknownFields(unknown("tensor"))
                        .addMetadataProps(kv("k", "v")))
                .addInitializer(float16Data).addInitializer(int4Data).addInitializer(stringData)
                .addInitializer(uint64Data).addInitializer(uint32Data).addInitializer(int64Data)
                .addInitializer(doubleData).addInitializer(floatData)
                .addSparseInitializer(sparse)
                .addNode(NodeProto.newBuilder().setOpType("If").setName("if").addInput("cond").addOutput("if_out")
                        .addAttribute(AttributeProto.newBuilder().setName("then_branch").setType(AttributeType.GRAPH)
                                .setG(thenBranch))
                        .addAttribute(AttributeProto.newBuilder().setName("else_branch").setType(AttributeType.GRAPH)
                                .setG(elseBranch)))
                .addNode(NodeProto.newBuilder().setOpType("Loop").setName("loop").addInput("").addInput("cond")
                        .addInput("x").addOutput("loop_out")
                        .addAttribute(AttributeProto.newBuilder().setName("body").setType(AttributeType.GRAPH).setG(loopBody)))
                .addNode(node("MyFn", List.of("if_out"), List.of("fn_out")).toBuilder().setDomain("custom")
                        .addAttribute(AttributeProto.newBuilder().setName("alpha").setType(AttributeType.FLOAT).setF(2f)))
                .addNode(everyAttribute)
                .addNode(node("Add", List.of("fn_out", "loop_out"), List.of("y")))
                .addOutput(info("y", floatTensor("batch", 3)))
                .addOutput(info("e0", floatTensor()))
                .addValueInfo(info("if_out", floatTensor("batch", 3)).toBuilder().setDocString("from If"))
                .addValueInfo(info("not_in_graph", floatTensor(1)))
                .addQuantizationAnnotation(TensorAnnotation.newBuilder().setTensorName("y")
                        .addQuantParameterTensorNames(kv("SCALE_TENSOR", "w")).setUnknownFields(unknown("annotation")))
                .addMetadataProps(kv("graph_meta", "1"))
                .setUnknownFields(unknown("graph"))
                .build();

        FunctionProto fn = FunctionProto.newBuilder().setName("MyFn").setDomain("custom").setOverload("")
                .addInput("a").addOutput("b").addAttribute("alpha")
                .addAttributeProto(AttributeProto.newBuilder().setName("beta").setType(AttributeType.INT).setI(3))
                .addNode(NodeProto.newBuilder().setOpType("Constant").addOutput("alpha_t")
                        .addAttribute(AttributeProto.newBuilder().setName("value_float").setType(AttributeType.FLOAT)
                                .setRefAttrName("alpha")))
                .addNode(node("Mul", List.of("a", "alpha_t"), List.of("b")))
                .addValueInfo(info("alpha_t", floatTensor()))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(18))
                .setDocString("scales by alpha").addMetadataProps(kv("fn", "meta"))
                .setUnknownFields(unknown("function")).build();

        TrainingInfoProto training = TrainingInfoProto.newBuilder()
                .setInitialization(GraphProto.newBuilder().setName("init")
                        .addNode(node("RandomNormal", List.of(), List.of("w_init")))
                        .addOutput(info("w_init", floatTensor(3))))
                .setAlgorithm(GraphProto.newBuilder().setName("algo")
                        .addNode(node("Sub", List.of("w", "w"), List.of("w_new")))
                        .addOutput(info("w_new", floatTensor(3))))
                .addInitializationBinding(kv("w", "w_init"))
                .addUpdateBinding(kv("w", "w_new")).build();

        return ModelProto.newBuilder()
                .setIrVersion(10).setProducerName("lossless").setProducerVersion("1.0").setDomain("dev.slimnx")
                .setModelVersion(3).setDocString("a model with everything")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(18).setUnknownFields(unknown("opset")))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("custom").setVersion(1))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.slimnx.test").setVersion(1))
                .setGraph(graph)
                .addMetadataProps(kv("author", "slimnx")).addMetadataProps(kv("author", "twice"))
                .addTrainingInfo(training)
                .addFunctions(fn)
                .addConfiguration(DeviceConfigurationProto.newBuilder().setName("cfg0").setNumDevices(2)
                        .addDevice("cpu:0").addDevice("cpu:1"))
                .setUnknownFields(unknown("model"))
                .build();
    }

    /** @return the message after read → write → parse */
    static ModelProto roundTrip(ModelProto original) throws IOException {
        Model m = OnnxReader.read(original.toByteArray(), "original.onnx");
        return parse(OnnxWriter.toBytes(m));
    }

    /** Parses with the reader's nesting limit (protobuf's default of 100 is lower). */
    static ModelProto parse(byte[] bytes) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        in.setRecursionLimit(OnnxReader.RECURSION_LIMIT);
        return ModelProto.parseFrom(in);
    }

    // ---- tests ----

    @Test
    void everythingSurvives() throws Exception {
        ModelProto original = everything();
        assertEquals(original, roundTrip(original));
    }

    /**
     * Unknown fields inside the small nested messages: a type's Tensor/Sequence/Map/Optional/
     * SparseTensor/Opaque part, the shape, each dimension, and string entries (metadata and
     * external-data entries alike).
     */
    @Test
    void unknownFieldsInsideNestedMessagesSurvive() throws Exception {
        TensorShapeProto shape = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch").setUnknownFields(unknown("dim0")))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(4).setUnknownFields(unknown("dim1")))
                .setUnknownFields(unknown("shape")).build();
        TypeProto tensor = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(1)
                .setShape(shape).setUnknownFields(unknown("tensor_type"))).build();
        TypeProto sequence = TypeProto.newBuilder().setSequenceType(TypeProto.Sequence.newBuilder()
                .setElemType(tensor).setUnknownFields(unknown("sequence_type"))).build();
        TypeProto map = TypeProto.newBuilder().setMapType(TypeProto.Map.newBuilder().setKeyType(7)
                .setValueType(tensor).setUnknownFields(unknown("map_type"))).build();
        TypeProto optional = TypeProto.newBuilder().setOptionalType(TypeProto.Optional.newBuilder()
                .setElemType(tensor).setUnknownFields(unknown("optional_type"))).build();
        TypeProto sparse = TypeProto.newBuilder().setSparseTensorType(TypeProto.SparseTensor.newBuilder()
                .setElemType(1).setShape(shape).setUnknownFields(unknown("sparse_tensor_type"))).build();
        TypeProto opaque = TypeProto.newBuilder().setOpaqueType(TypeProto.Opaque.newBuilder().setDomain("d")
                .setName("n").setUnknownFields(unknown("opaque_type"))).build();
        GraphProto g = GraphProto.newBuilder().setName("g")
                .addNode(node("Identity", List.of("x"), List.of("y")))
                .addInput(info("x", tensor)).addOutput(info("y", tensor))
                .addValueInfo(info("s", sequence)).addValueInfo(info("m", map)).addValueInfo(info("o", optional))
                .addValueInfo(info("sp", sparse)).addValueInfo(info("op", opaque))
                .addMetadataProps(kv("k", "v").toBuilder().setUnknownFields(unknown("entry")))
                .build();
        ModelProto original = ModelProto.newBuilder().setIrVersion(9).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17))
                .addMetadataProps(kv("author", "me").toBuilder().setUnknownFields(unknown("model entry"))).build();
        assertEquals(original, roundTrip(original));
    }

    @Test
    void everythingSurvivesThroughAFileToo(@TempDir Path dir) throws Exception {
        ModelProto original = everything();
        Path in = dir.resolve("in.onnx");
        java.nio.file.Files.write(in, original.toByteArray());
        Path out = dir.resolve("out.onnx");
        OnnxWriter.write(OnnxReader.read(in), out);
        assertArrayEquals(original.toByteArray(), java.nio.file.Files.readAllBytes(out));
    }

    /** Each level's unknown fields, alone, survive: a failure names the level that drops them. */
    @Test
    void unknownFieldsSurviveAtEachLevel() throws Exception {
        ModelProto base = MalformedCorpus.base().build();
        GraphProto g = base.getGraph();
        NodeProto n0 = g.getNode(0);
        List<ModelProto> variants = List.of(
                base.toBuilder().setUnknownFields(unknown("model")).build(),
                base.toBuilder().setGraph(g.toBuilder().setUnknownFields(unknown("graph"))).build(),
                base.toBuilder().setGraph(g.toBuilder().setNode(0, n0.toBuilder().setUnknownFields(unknown("node")))).build(),
                base.toBuilder().setGraph(g.toBuilder().setNode(0, n0.toBuilder().addAttribute(AttributeProto.newBuilder()
                        .setName("a").setType(AttributeType.INT).setI(1).setUnknownFields(unknown("attr"))))).build(),
                base.toBuilder().setGraph(g.toBuilder().setInitializer(0, g.getInitializer(0).toBuilder()
                        .setUnknownFields(unknown("tensor")))).build(),
                base.toBuilder().setGraph(g.toBuilder().setInput(0, g.getInput(0).toBuilder()
                        .setUnknownFields(unknown("value_info")))).build(),
                base.toBuilder().setGraph(g.toBuilder().setInput(0, g.getInput(0).toBuilder().setType(
                        g.getInput(0).getType().toBuilder().setUnknownFields(unknown("type"))))).build(),
                base.toBuilder().setOpsetImport(0, base.getOpsetImport(0).toBuilder()
                        .setUnknownFields(unknown("opset"))).build());
        for (ModelProto v : variants) {
            assertEquals(v, roundTrip(v));
        }
    }

    @Test
    void typedFieldsKeepTheirFieldAndDecode() throws Exception {
        Model m = OnnxReader.read(everything().toByteArray(), "everything.onnx");
        Graph g = m.graph();
        Tensor h16 = g.initializer("h16").initializer();
        assertEquals(TensorData.Field.INT32_DATA, ((TensorData.Fields) h16.data()).field());
        assertArrayEquals(new float[] {1f, -2f}, h16.toFloatArray());
        Tensor i4 = g.initializer("i4").initializer();
        // 0xF7: low nibble 7, high nibble 0xF (-1); 0x08: low nibble 8 (-8).
        assertArrayEquals(new long[] {7, -1, -8}, i4.toLongArray());
        assertArrayEquals(new byte[] {(byte) 0xF7, 0x08}, bytes(i4.rawBytes()));
        assertArrayEquals(new double[] {18446744073709551615.0, 5.0}, g.initializer("u64").initializer().toDoubleArray());
        assertArrayEquals(new long[] {0xFFFF_FFFFL}, g.initializer("u32").initializer().toLongArray());
        assertArrayEquals(new byte[] {-1, -1, -1, -1}, bytes(g.initializer("u32").initializer().rawBytes()));
        assertArrayEquals(new long[] {Long.MIN_VALUE, 3}, g.initializer("i64").initializer().toLongArray());
        assertArrayEquals(new double[] {Math.PI}, g.initializer("f64").initializer().toDoubleArray());
        List<byte[]> strings = g.initializer("str").initializer().strings();
        assertArrayEquals("héllo".getBytes(StandardCharsets.UTF_8), strings.get(0));
        assertArrayEquals(new byte[] {0, (byte) 0xFF}, strings.get(1));
        float[] f32 = g.initializer("f32").initializer().toFloatArray();
        assertEquals(1.5f, f32[0]);
        assertTrue(Float.isNaN(f32[1]));
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(f32[2]));
    }

    @Test
    void subgraphsReadOuterScopeValues() throws Exception {
        Model m = OnnxReader.read(everything().toByteArray(), "everything.onnx");
        Graph g = m.graph();
        Value x = g.inputs().get(0);
        Value w = g.initializer("w");
        Node ifNode = g.nodes().get(0);
        Graph then = (Graph) ifNode.attribute("then_branch").value();
        Graph otherwise = (Graph) ifNode.attribute("else_branch").value();
        assertSame(x, then.nodes().get(0).input(0));
        assertSame(w, otherwise.nodes().get(0).input(0));
        assertSame(ifNode, then.parentNode());
        assertSame(g, then.parentGraph());
        Node loop = g.nodes().get(1);
        Graph body = (Graph) loop.attribute("body").value();
        assertSame(x, body.nodes().get(1).input(1));
        // Uses of x: the If's then branch, the Loop (as input 2), its body, the Everything node and
        // the copy of the then branch in its "g" attribute.
        assertEquals(5, x.uses().size());
    }

    /** IR version 3 listed every initializer as a graph input too: the value is both, and not constant. */
    @Test
    void irVersion3InitializersListedAsInputs() throws Exception {
        ModelProto.Builder b = MalformedCorpus.base().setIrVersion(3);
        b.setGraph(b.getGraph().toBuilder().addInput(info("w", floatTensor(2, 3))));
        ModelProto original = b.build();
        assertEquals(original, roundTrip(original));

        Model m = OnnxReader.read(original.toByteArray(), "v3.onnx");
        Value w = m.graph().initializer("w");
        assertTrue(w.isGraphInput());
        assertTrue(w.isInitializer());
        assertSame(w, m.graph().inputs().get(1));
        assertNull(w.constant());
        assertEquals(1, w.uses().size());
    }

    @Test
    void functionsKeepAttributeReferences() throws Exception {
        Model m = OnnxReader.read(everything().toByteArray(), "everything.onnx");
        var fn = m.functions().get(0);
        assertEquals(List.of("alpha"), fn.attributeNames());
        assertEquals("beta", fn.attributeDefaults().get(0).name());
        var ref = fn.body().nodes().get(0).attribute("value_float");
        assertEquals("alpha", ref.refAttrName());
        assertNull(ref.value());
        assertSame(fn.body().inputs().get(0), fn.body().nodes().get(1).input(0));
    }

    /**
     * Opaque messages (training info) and unknown groups may nest as deep as the reader allows,
     * deeper than protobuf's default limit of 100; writing them back must not fail.
     */
    @Test
    void deeplyNestedOpaqueMessagesWriteBack() throws Exception {
        // 40 nested Ifs inside a training_info algorithm: 2 + 1 + 3 * 40 message levels.
        ModelProto nested = parse(MalformedCorpus.nestedIfs(40));
        ModelProto.Builder b = MalformedCorpus.base();
        b.addTrainingInfo(TrainingInfoProto.newBuilder().setAlgorithm(nested.getGraph()));
        UnknownFieldSet groups = UnknownFieldSet.newBuilder().build();
        for (int i = 0; i < 150; i++) {
            groups = UnknownFieldSet.newBuilder().addField(9100, UnknownFieldSet.Field.newBuilder().addGroup(groups).build())
                    .build();
        }
        b.setUnknownFields(groups);
        ModelProto original = b.build();
        byte[] bytes = original.toByteArray();
        assertEquals(original, parse(OnnxWriter.toBytes(OnnxReader.read(bytes, "deep.onnx"))));
    }

    @Test
    void attributeWithoutTypeKeepsTypeZero() throws Exception {
        Model m = OnnxReader.read(everything().toByteArray(), "everything.onnx");
        var a = m.graph().nodes().get(3).attribute("ir1_style");
        assertEquals(0, a.typeCode());
        assertEquals(dev.slimnx.graph.AttributeType.FLOAT, a.kind());
        assertEquals(3f, a.value());
    }

    @Test
    void omittedOptionalInputsAndOutputsKeepTheirSlots() throws Exception {
        Model m = OnnxReader.read(everything().toByteArray(), "everything.onnx");
        Node all = m.graph().nodes().get(3);
        assertEquals(3, all.inputs().size());
        assertNull(all.input(1));
        assertEquals("", all.output(1).name());
        assertFalse(all.output(1).isGraphOutput());
    }

    static byte[] bytes(java.nio.ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
