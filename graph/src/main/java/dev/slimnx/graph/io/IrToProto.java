package dev.slimnx.graph.io;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.UnsafeByteOperations;
import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Function;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.TensorAnnotation;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.proto.OnnxProto.AttributeProto;
import dev.slimnx.graph.io.proto.OnnxProto.DeviceConfigurationProto;
import dev.slimnx.graph.io.proto.OnnxProto.FunctionProto;
import dev.slimnx.graph.io.proto.OnnxProto.GraphProto;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.io.proto.OnnxProto.NodeDeviceConfigurationProto;
import dev.slimnx.graph.io.proto.OnnxProto.NodeProto;
import dev.slimnx.graph.io.proto.OnnxProto.OperatorSetIdProto;
import dev.slimnx.graph.io.proto.OnnxProto.SparseTensorProto;
import dev.slimnx.graph.io.proto.OnnxProto.StringStringEntryProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorShapeProto;
import dev.slimnx.graph.io.proto.OnnxProto.TrainingInfoProto;
import dev.slimnx.graph.io.proto.OnnxProto.TypeProto;
import dev.slimnx.graph.io.proto.OnnxProto.ValueInfoProto;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.ExternalLocation;
import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.SparseTensor;
import dev.slimnx.graph.tensor.StringPair;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorData;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts the IR back into protobuf messages. Tensor bytes are wrapped, not copied, so writing a
 * model streams its weights straight from the input mapping to the output file.
 *
 * <p>Where each tensor's data goes is decided by {@link ExternalDataPolicy}: kept where it was,
 * moved inline, or moved into one external data file (the writer then streams the bytes there in
 * the order the offsets were handed out).
 */
final class IrToProto {
    /** A tensor the writer must put into the external data file at {@code offset}. */
    record Placement(Tensor tensor, long offset, long length) {
    }

    /** Data alignment in the external file, so ONNX Runtime can map each tensor directly. */
    static final long ALIGNMENT = 4096;

    private final ExternalDataPolicy policy;
    private final List<Placement> placements = new ArrayList<>();
    private final List<Tensor> keptExternal = new ArrayList<>();
    private long nextOffset;

    IrToProto(ExternalDataPolicy policy) {
        this.policy = policy;
    }

    /** @return tensors assigned to the new external data file, in offset order */
    List<Placement> placements() {
        return placements;
    }

    /** @return tensors whose external data stays where it is (same location, offset, length) */
    List<Tensor> keptExternal() {
        return keptExternal;
    }

    ModelProto model(Model m) {
        ModelProto.Builder b = ModelProto.newBuilder()
                .setIrVersion(m.irVersion())
                .setProducerName(m.producerName())
                .setProducerVersion(m.producerVersion())
                .setDomain(m.domain())
                .setModelVersion(m.modelVersion())
                .setDocString(m.docString())
                .setGraph(graph(m.graph()));
        for (OpsetId id : m.opsetImports()) {
            b.addOpsetImport(opset(id));
        }
        b.addAllMetadataProps(pairs(m.metadata()));
        for (OpaqueFields t : m.trainingInfo()) {
            b.addTrainingInfo(reparse(TrainingInfoProto.parser(), t.bytes()));
        }
        for (Function f : m.functions()) {
            b.addFunctions(function(f));
        }
        for (OpaqueFields c : m.configuration()) {
            b.addConfiguration(reparse(DeviceConfigurationProto.parser(), c.bytes()));
        }
        unknown(b, m.extra());
        return b.build();
    }

    /**
     * Parses bytes the reader kept opaque. NOTE: with the reader's nesting limit, not protobuf's
     * default of 100: whatever the reader accepted must write back.
     */
    private static <T> T reparse(com.google.protobuf.Parser<T> parser, byte[] bytes) {
        try {
            return parser.parseFrom(stream(bytes));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("opaque field no longer parses: " + e.getMessage(), e);
        }
    }

    private static CodedInputStream stream(byte[] bytes) {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        in.setRecursionLimit(OnnxReader.RECURSION_LIMIT);
        return in;
    }

    private static void unknown(com.google.protobuf.Message.Builder b, OpaqueFields extra) {
        if (!extra.isEmpty()) {
            try {
                b.setUnknownFields(UnknownFieldSet.newBuilder().mergeFrom(stream(extra.bytes())).build());
            } catch (java.io.IOException e) {
                throw new IllegalStateException("unknown fields no longer parse: " + e.getMessage(), e);
            }
        }
    }

    private static OperatorSetIdProto opset(OpsetId id) {
        OperatorSetIdProto.Builder b = OperatorSetIdProto.newBuilder().setDomain(id.domain()).setVersion(id.version());
        unknown(b, id.extra());
        return b.build();
    }

    private FunctionProto function(Function f) {
        FunctionProto.Builder b = FunctionProto.newBuilder()
                .setName(f.name())
                .setDomain(f.domain())
                .setOverload(f.overload())
                .setDocString(f.docString());
        for (Value v : f.body().inputs()) {
            b.addInput(v.name());
        }
        for (Value v : f.body().outputs()) {
            b.addOutput(v.name());
        }
        b.addAllAttribute(f.attributeNames());
        for (Attribute a : f.attributeDefaults()) {
            b.addAttributeProto(attribute(a));
        }
        for (Node n : f.body().nodes()) {
            b.addNode(node(n));
        }
        for (Value v : f.body().valueInfos()) {
            b.addValueInfo(valueInfo(v));
        }
        for (OpsetId id : f.opsetImports()) {
            b.addOpsetImport(opset(id));
        }
        b.addAllMetadataProps(pairs(f.metadata()));
        unknown(b, f.extra());
        return b.build();
    }

    GraphProto graph(Graph g) {
        GraphProto.Builder b = GraphProto.newBuilder().setName(g.name()).setDocString(g.docString());
        for (Node n : g.nodes()) {
            b.addNode(node(n));
        }
        for (Value v : g.initializers()) {
            b.addInitializer(tensor(v.initializer(), true));
        }
        for (Value v : g.sparseInitializers()) {
            b.addSparseInitializer(sparse(v.sparseInitializer()));
        }
        for (Value v : g.inputs()) {
            b.addInput(valueInfo(v));
        }
        for (Value v : g.outputs()) {
            b.addOutput(valueInfo(v));
        }
        for (Value v : g.valueInfos()) {
            b.addValueInfo(valueInfo(v));
        }
        for (TensorAnnotation a : g.quantizationAnnotations()) {
            var ab = dev.slimnx.graph.io.proto.OnnxProto.TensorAnnotation.newBuilder()
                    .setTensorName(a.tensorName()).addAllQuantParameterTensorNames(pairs(a.parameters()));
            unknown(ab, a.extra());
            b.addQuantizationAnnotation(ab);
        }
        b.addAllMetadataProps(pairs(g.metadata()));
        unknown(b, g.extra());
        return b.build();
    }

    private NodeProto node(Node n) {
        NodeProto.Builder b = NodeProto.newBuilder()
                .setName(n.name())
                .setOpType(n.opType())
                .setDomain(n.domain())
                .setOverload(n.overload())
                .setDocString(n.docString());
        for (Value v : n.inputs()) {
            b.addInput(v == null ? "" : v.name());
        }
        for (Value v : n.outputs()) {
            b.addOutput(v.name());
        }
        for (Attribute a : n.attributes()) {
            b.addAttribute(attribute(a));
        }
        b.addAllMetadataProps(pairs(n.metadata()));
        for (OpaqueFields d : n.deviceConfigurations()) {
            b.addDeviceConfigurations(reparse(NodeDeviceConfigurationProto.parser(), d.bytes()));
        }
        unknown(b, n.extra());
        return b.build();
    }

    private AttributeProto attribute(Attribute a) {
        AttributeProto.Builder b = AttributeProto.newBuilder()
                .setName(a.name())
                .setRefAttrName(a.refAttrName())
                .setDocString(a.docString())
                .setTypeValue(a.typeCode());
        Object v = a.value();
        if (v != null) {
            switch (a.kind()) {
                case FLOAT -> b.setF((Float) v);
                case INT -> b.setI((Long) v);
                case STRING -> b.setS(ByteString.copyFrom((byte[]) v));
                case TENSOR -> b.setT(tensor((Tensor) v, false));
                case GRAPH -> b.setG(graph((Graph) v));
                case SPARSE_TENSOR -> b.setSparseTensor(sparse((SparseTensor) v));
                case TYPE_PROTO -> b.setTp(type((ValueType) v));
                case FLOATS -> {
                    for (float f : (float[]) v) {
                        b.addFloats(f);
                    }
                }
                case INTS -> {
                    for (long i : (long[]) v) {
                        b.addInts(i);
                    }
                }
                case STRINGS -> {
                    for (Object s : (List<?>) v) {
                        b.addStrings(ByteString.copyFrom((byte[]) s));
                    }
                }
                case TENSORS -> {
                    for (Object t : (List<?>) v) {
                        b.addTensors(tensor((Tensor) t, false));
                    }
                }
                case GRAPHS -> {
                    for (Object g : (List<?>) v) {
                        b.addGraphs(graph((Graph) g));
                    }
                }
                case SPARSE_TENSORS -> {
                    for (Object s : (List<?>) v) {
                        b.addSparseTensors(sparse((SparseTensor) s));
                    }
                }
                case TYPE_PROTOS -> {
                    for (Object t : (List<?>) v) {
                        b.addTypeProtos(type((ValueType) t));
                    }
                }
                case UNDEFINED -> {
                }
            }
        }
        unknown(b, a.extra());
        return b.build();
    }

    private ValueInfoProto valueInfo(Value v) {
        ValueInfoProto.Builder b = ValueInfoProto.newBuilder().setName(v.name()).setDocString(v.docString());
        if (v.type() != null) {
            b.setType(type(v.type()));
        }
        b.addAllMetadataProps(pairs(v.metadata()));
        unknown(b, v.extra());
        return b.build();
    }

    private static TypeProto type(ValueType t) {
        TypeProto.Builder b = TypeProto.newBuilder().setDenotation(t.denotation());
        switch (t) {
            case ValueType.TensorType tt -> {
                TypeProto.Tensor.Builder tb = TypeProto.Tensor.newBuilder().setElemType(tt.elemType().code());
                if (tt.shape() != null) {
                    tb.setShape(shape(tt.shape()));
                }
                unknown(tb, tt.innerExtra());
                b.setTensorType(tb);
            }
            case ValueType.SparseTensorType st -> {
                TypeProto.SparseTensor.Builder sb = TypeProto.SparseTensor.newBuilder().setElemType(st.elemType().code());
                if (st.shape() != null) {
                    sb.setShape(shape(st.shape()));
                }
                unknown(sb, st.innerExtra());
                b.setSparseTensorType(sb);
            }
            case ValueType.SequenceType s -> {
                TypeProto.Sequence.Builder sb = TypeProto.Sequence.newBuilder();
                if (s.elemType() != null) {
                    sb.setElemType(type(s.elemType()));
                }
                unknown(sb, s.innerExtra());
                b.setSequenceType(sb);
            }
            case ValueType.MapType m -> {
                TypeProto.Map.Builder mb = TypeProto.Map.newBuilder().setKeyType(m.keyType().code());
                if (m.valueType() != null) {
                    mb.setValueType(type(m.valueType()));
                }
                unknown(mb, m.innerExtra());
                b.setMapType(mb);
            }
            case ValueType.OptionalType o -> {
                TypeProto.Optional.Builder ob = TypeProto.Optional.newBuilder();
                if (o.elemType() != null) {
                    ob.setElemType(type(o.elemType()));
                }
                unknown(ob, o.innerExtra());
                b.setOptionalType(ob);
            }
            case ValueType.OpaqueType o -> {
                TypeProto.Opaque.Builder ob = TypeProto.Opaque.newBuilder().setDomain(o.domain()).setName(o.name());
                unknown(ob, o.innerExtra());
                b.setOpaqueType(ob);
            }
            case ValueType.UnsetType u -> {
            }
        }
        unknown(b, t.extra());
        return b.build();
    }

    private static TensorShapeProto shape(Shape s) {
        TensorShapeProto.Builder b = TensorShapeProto.newBuilder();
        for (Dim d : s.dims()) {
            TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder().setDenotation(d.denotation());
            switch (d.kind()) {
                case KNOWN -> db.setDimValue(d.value());
                case SYMBOLIC -> db.setDimParam(d.param());
                case UNKNOWN -> {
                }
            }
            unknown(db, d.extra());
            b.addDim(db);
        }
        unknown(b, s.extra());
        return b.build();
    }

    private SparseTensorProto sparse(SparseTensor s) {
        SparseTensorProto.Builder b = SparseTensorProto.newBuilder();
        if (s.values() != null) {
            b.setValues(tensor(s.values(), false));
        }
        if (s.indices() != null) {
            b.setIndices(tensor(s.indices(), false));
        }
        for (long d : s.dims()) {
            b.addDims(d);
        }
        unknown(b, s.extra());
        return b.build();
    }

    /**
     * @param t the tensor
     * @param initializer true for graph initializers, the only tensors moved into a new external file
     */
    TensorProto tensor(Tensor t, boolean initializer) {
        TensorProto.Builder b = TensorProto.newBuilder()
                .setName(t.name())
                .setDataType(t.dataTypeCode())
                .setDocString(t.docString());
        for (long d : t.dims()) {
            b.addDims(d);
        }
        if (t.segment() != null) {
            b.setSegment(reparse(TensorProto.Segment.parser(), t.segment()));
        }
        boolean externalize = initializer && policy.mode() == ExternalDataPolicy.Mode.EXTERNALIZE
                && t.dataType() != DataType.STRING && t.dataType() != DataType.UNDEFINED
                && t.byteSize() >= policy.sizeThreshold();
        switch (t.data()) {
            case TensorData.External e when !externalize && policy.mode() == ExternalDataPolicy.Mode.KEEP -> {
                b.setDataLocation(TensorProto.DataLocation.EXTERNAL);
                b.addAllExternalData(pairs(e.location().entries()));
                keptExternal.add(t);
            }
            case TensorData.External e when !externalize -> b.setRawData(UnsafeByteOperations.unsafeWrap(e.location().bytes()));
            case TensorData.Raw r when !externalize -> b.setRawData(UnsafeByteOperations.unsafeWrap(r.bytes().duplicate()));
            case TensorData.Fields f when !externalize -> fields(b, f);
            default -> {
                long length = t.byteSize();
                long offset = nextOffset;
                placements.add(new Placement(t, offset, length));
                nextOffset = align(offset + length);
                b.setDataLocation(TensorProto.DataLocation.EXTERNAL);
                b.addExternalData(entry("location", policy.location()));
                b.addExternalData(entry("offset", Long.toString(offset)));
                b.addExternalData(entry("length", Long.toString(length)));
            }
        }
        b.addAllMetadataProps(pairs(t.metadata()));
        unknown(b, t.extra());
        return b.build();
    }

    private static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void fields(TensorProto.Builder b, TensorData.Fields f) {
        switch (f.values()) {
            case float[] a -> {
                for (float v : a) {
                    b.addFloatData(v);
                }
            }
            case double[] a -> {
                for (double v : a) {
                    b.addDoubleData(v);
                }
            }
            case int[] a -> {
                for (int v : a) {
                    b.addInt32Data(v);
                }
            }
            case long[] a when f.field() == TensorData.Field.UINT64_DATA -> {
                for (long v : a) {
                    b.addUint64Data(v);
                }
            }
            case long[] a -> {
                for (long v : a) {
                    b.addInt64Data(v);
                }
            }
            case List<?> l -> {
                for (Object o : l) {
                    b.addStringData(ByteString.copyFrom((byte[]) o));
                }
            }
            default -> throw new IllegalStateException("unexpected field values " + f.values().getClass());
        }
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static List<StringStringEntryProto> pairs(List<StringPair> pairs) {
        List<StringStringEntryProto> out = new ArrayList<>(pairs.size());
        for (StringPair p : pairs) {
            StringStringEntryProto.Builder b = StringStringEntryProto.newBuilder().setKey(p.key()).setValue(p.value());
            unknown(b, p.extra());
            out.add(b.build());
        }
        return out;
    }

    /** @return the external location of a kept tensor */
    static ExternalLocation locationOf(Tensor t) {
        return ((TensorData.External) t.data()).location();
    }
}
