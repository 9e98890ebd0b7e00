package dev.slimnx.graph.io;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.ProtocolStringList;
import com.google.protobuf.UnknownFieldSet;
import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.AttributeType;
import dev.slimnx.graph.Function;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.ModelFormatException;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.TensorAnnotation;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.proto.OnnxProto.AttributeProto;
import dev.slimnx.graph.io.proto.OnnxProto.FunctionProto;
import dev.slimnx.graph.io.proto.OnnxProto.GraphProto;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.io.proto.OnnxProto.NodeProto;
import dev.slimnx.graph.io.proto.OnnxProto.OperatorSetIdProto;
import dev.slimnx.graph.io.proto.OnnxProto.SparseTensorProto;
import dev.slimnx.graph.io.proto.OnnxProto.StringStringEntryProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorProto;
import dev.slimnx.graph.io.proto.OnnxProto.TensorShapeProto;
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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Converts parsed protobuf messages into the IR, checking as it goes: sizes against dims,
 * external-data locations, single definition of every name, every input defined, no cycles.
 */
final class ProtoToIr {
    private final Path file;
    private final Path baseDir;
    private Path realBaseDir;

    ProtoToIr(Path file, Path baseDir) {
        this.file = file;
        this.baseDir = baseDir;
    }

    private ModelFormatException error(String path, String problem) {
        return new ModelFormatException(file, path, problem);
    }

    /** Names visible to the nodes of a graph: its own, then those of enclosing graphs. */
    private static final class Scope {
        final Scope parent;
        final Map<String, Value> local = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }

        Value lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                Value v = s.local.get(name);
                if (v != null) {
                    return v;
                }
            }
            return null;
        }
    }

    Model model(ModelProto p) throws ModelFormatException {
        OpaqueFields extra = extra(p, "");
        if (!p.hasGraph()) {
            throw error("graph", "the model has no graph");
        }
        Graph graph = graph(p.getGraph(), "graph", null);
        Model m = new Model(p.getIrVersion(), graph);
        for (int i = 0; i < p.getOpsetImportCount(); i++) {
            m.opsetImports().add(opset(p.getOpsetImport(i), "opset_import[" + i + "]"));
        }
        m.setProducerName(p.getProducerName());
        m.setProducerVersion(p.getProducerVersion());
        m.setDomain(p.getDomain());
        m.setModelVersion(p.getModelVersion());
        m.setDocString(p.getDocString());
        m.setMetadata(pairs(p.getMetadataPropsList()));
        m.setTrainingInfo(p.getTrainingInfoList().stream().map(t -> OpaqueFields.of(t.toByteArray())).toList());
        m.setConfiguration(p.getConfigurationList().stream().map(t -> OpaqueFields.of(t.toByteArray())).toList());
        for (int i = 0; i < p.getFunctionsCount(); i++) {
            m.functions().add(function(p.getFunctions(i), "functions[" + i + "]"));
        }
        m.setExtra(extra);
        return m;
    }

    private OpsetId opset(OperatorSetIdProto p, String path) throws ModelFormatException {
        return new OpsetId(p.getDomain(), p.getVersion(), extra(p, path));
    }

    private Function function(FunctionProto p, String path) throws ModelFormatException {
        OpaqueFields extra = extra(p, path);
        Graph body = new Graph();
        Scope scope = new Scope(null);
        for (int i = 0; i < p.getInputCount(); i++) {
            Value v = new Value(p.getInput(i));
            define(scope, v, path + ".input[" + i + "]");
            body.addInput(v);
        }
        nodes(body, p.getNodeList(), path, scope);
        outputNames(body, p.getOutputList(), path + ".output", scope);
        valueInfos(body, p.getValueInfoList(), path + ".value_info", scope, new HashSet<>());
        checkAcyclic(body, path);
        Function f = new Function(p.getDomain(), p.getName(), body);
        f.setOverload(p.getOverload());
        f.setAttributeNames(List.copyOf(p.getAttributeList()));
        List<Attribute> defaults = new ArrayList<>();
        for (int i = 0; i < p.getAttributeProtoCount(); i++) {
            defaults.add(attribute(p.getAttributeProto(i), path + ".attribute_proto[" + i + "]", scope));
        }
        f.setAttributeDefaults(defaults);
        for (int i = 0; i < p.getOpsetImportCount(); i++) {
            f.opsetImports().add(opset(p.getOpsetImport(i), path + ".opset_import[" + i + "]"));
        }
        f.setDocString(p.getDocString());
        f.setMetadata(pairs(p.getMetadataPropsList()));
        f.setExtra(extra);
        return f;
    }

    private Graph graph(GraphProto p, String path, Scope outer) throws ModelFormatException {
        Graph g = new Graph();
        g.setExtra(extra(p, path));
        g.setName(p.getName());
        g.setDocString(p.getDocString());
        g.setMetadata(pairs(p.getMetadataPropsList()));
        Scope scope = new Scope(outer);
        Set<Value> described = new HashSet<>();

        for (int i = 0; i < p.getInputCount(); i++) {
            String ip = path + ".input[" + i + "]";
            Value v = valueInfo(p.getInput(i), ip);
            if (v.name().isEmpty()) {
                throw error(ip, "graph input has no name");
            }
            define(scope, v, ip);
            g.addInput(v);
            described.add(v);
        }
        for (int i = 0; i < p.getInitializerCount(); i++) {
            String ip = path + ".initializer[" + i + "]";
            TensorProto tp = p.getInitializer(i);
            Tensor t = tensor(tp, ip);
            if (tp.getName().isEmpty()) {
                throw error(ip + ".name", "initializer has no name");
            }
            Value v = scope.local.get(tp.getName());
            if (v != null && (!v.isGraphInput() || v.isInitializer())) {
                throw error(ip + ".name", "'" + tp.getName() + "' is defined twice");
            }
            if (v == null) {
                v = new Value(tp.getName(), ValueType.TensorType.of(t.dataType(), Shape.of(t.dims())));
                define(scope, v, ip);
            }
            g.addInitializer(v, t);
        }
        for (int i = 0; i < p.getSparseInitializerCount(); i++) {
            String ip = path + ".sparse_initializer[" + i + "]";
            SparseTensor st = sparse(p.getSparseInitializer(i), ip);
            String name = st.name();
            if (name.isEmpty()) {
                throw error(ip + ".values.name", "sparse initializer has no name");
            }
            Value v = scope.local.get(name);
            if (v != null && (!v.isGraphInput() || v.isInitializer())) {
                throw error(ip + ".values.name", "'" + name + "' is defined twice");
            }
            if (v == null) {
                v = new Value(name);
                define(scope, v, ip);
            }
            g.addSparseInitializer(v, st);
        }
        nodes(g, p.getNodeList(), path, scope);
        for (int i = 0; i < p.getOutputCount(); i++) {
            String op = path + ".output[" + i + "]";
            ValueInfoProto vi = p.getOutput(i);
            Value v = scope.lookup(vi.getName());
            if (v == null) {
                throw error(op, "graph output '" + vi.getName() + "' is not produced by any node, input or initializer");
            }
            Value info = valueInfo(vi, op);
            if (!described.contains(v)) {
                copyInfo(info, v);
                described.add(v);
            }
            g.addOutput(v);
        }
        valueInfos(g, p.getValueInfoList(), path + ".value_info", scope, described);
        List<TensorAnnotation> annotations = new ArrayList<>();
        for (int i = 0; i < p.getQuantizationAnnotationCount(); i++) {
            var a = p.getQuantizationAnnotation(i);
            annotations.add(new TensorAnnotation(a.getTensorName(), pairs(a.getQuantParameterTensorNamesList()),
                    extra(a, path + ".quantization_annotation[" + i + "]")));
        }
        g.setQuantizationAnnotations(annotations);
        checkAcyclic(g, path);
        return g;
    }

    private void define(Scope scope, Value v, String path) throws ModelFormatException {
        Value previous = scope.local.putIfAbsent(v.name(), v);
        if (previous != null) {
            throw error(path, "'" + v.name() + "' is defined twice (single static assignment violated)");
        }
    }

    private void nodes(Graph g, List<NodeProto> protos, String path, Scope scope) throws ModelFormatException {
        // First every output, so nodes may be listed out of order; then the inputs.
        List<List<Value>> outputs = new ArrayList<>();
        for (int i = 0; i < protos.size(); i++) {
            NodeProto np = protos.get(i);
            List<Value> outs = new ArrayList<>();
            for (int j = 0; j < np.getOutputCount(); j++) {
                Value v = new Value(np.getOutput(j));
                if (!v.name().isEmpty()) {
                    define(scope, v, path + ".node[" + i + "].output[" + j + "]");
                }
                outs.add(v);
            }
            outputs.add(outs);
        }
        for (int i = 0; i < protos.size(); i++) {
            NodeProto np = protos.get(i);
            String np0 = path + ".node[" + i + "]";
            List<Value> ins = new ArrayList<>();
            ProtocolStringList inputNames = np.getInputList();
            for (int j = 0; j < inputNames.size(); j++) {
                String name = inputNames.get(j);
                if (name.isEmpty()) {
                    ins.add(null);
                    continue;
                }
                Value v = scope.lookup(name);
                if (v == null) {
                    throw error(np0 + ".input[" + j + "]", "'" + name + "' (input of " + np.getOpType()
                            + ") is not produced by any node, graph input or initializer");
                }
                ins.add(v);
            }
            Node n = new Node(np.getDomain(), np.getOpType(), ins, outputs.get(i), List.of());
            n.setName(np.getName());
            n.setOverload(np.getOverload());
            n.setDocString(np.getDocString());
            n.setMetadata(pairs(np.getMetadataPropsList()));
            n.setDeviceConfigurations(np.getDeviceConfigurationsList().stream()
                    .map(d -> OpaqueFields.of(d.toByteArray())).toList());
            n.setExtra(extra(np, np0));
            g.addNode(n);
            for (int j = 0; j < np.getAttributeCount(); j++) {
                n.appendAttribute(attribute(np.getAttribute(j), np0 + ".attribute[" + j + "]", scope));
            }
        }
    }

    private void outputNames(Graph g, List<String> names, String path, Scope scope) throws ModelFormatException {
        for (int i = 0; i < names.size(); i++) {
            Value v = scope.lookup(names.get(i));
            if (v == null) {
                throw error(path + "[" + i + "]", "'" + names.get(i) + "' is not produced by the function body");
            }
            g.addOutput(v);
        }
    }

    /**
     * value_info entries describe intermediate values. An entry that names no value, or a value
     * already described differently (as input or output), is kept as a detached value so that the
     * round trip writes it back unchanged.
     */
    private void valueInfos(Graph g, List<ValueInfoProto> protos, String path, Scope scope, Set<Value> described)
            throws ModelFormatException {
        for (int i = 0; i < protos.size(); i++) {
            Value info = valueInfo(protos.get(i), path + "[" + i + "]");
            Value v = scope.local.get(info.name());
            if (v != null && !described.contains(v)) {
                copyInfo(info, v);
                described.add(v);
                g.valueInfos().add(v);
            } else if (v != null && sameInfo(info, v)) {
                g.valueInfos().add(v);
            } else {
                g.valueInfos().add(info);
            }
        }
    }

    private static void copyInfo(Value from, Value to) {
        to.setType(from.type());
        to.setDocString(from.docString());
        to.setMetadata(from.metadata());
        to.setExtra(from.extra());
    }

    private static boolean sameInfo(Value a, Value b) {
        return Objects.equals(a.type(), b.type()) && a.docString().equals(b.docString())
                && a.metadata().equals(b.metadata()) && a.extra().equals(b.extra());
    }

    private void checkAcyclic(Graph g, String path) throws ModelFormatException {
        if (g.topologicalOrder() == null) {
            // Name a node that is on (or behind) the cycle.
            Set<Node> seen = new HashSet<>();
            for (Node n : g.nodes()) {
                boolean ready = true;
                for (Value v : n.inputs()) {
                    if (v != null && v.producer() != null && v.producer().graph() == g && !seen.contains(v.producer())) {
                        ready = false;
                    }
                }
                if (ready) {
                    seen.add(n);
                }
            }
            int index = 0;
            for (; index < g.nodes().size(); index++) {
                if (!seen.contains(g.nodes().get(index))) {
                    break;
                }
            }
            index = Math.min(index, g.nodes().size() - 1);
            throw error(path + ".node[" + index + "]", "the graph has a cycle through " + g.nodes().get(index).describe());
        }
    }

    private Value valueInfo(ValueInfoProto p, String path) throws ModelFormatException {
        Value v = new Value(p.getName(), p.hasType() ? type(p.getType(), path + ".type") : null);
        v.setDocString(p.getDocString());
        v.setMetadata(pairs(p.getMetadataPropsList()));
        v.setExtra(extra(p, path));
        return v;
    }

    private ValueType type(TypeProto p, String path) throws ModelFormatException {
        OpaqueFields extra = extra(p, path);
        String den = p.getDenotation();
        return switch (p.getValueCase()) {
            case TENSOR_TYPE -> {
                var t = p.getTensorType();
                yield new ValueType.TensorType(elemType(t.getElemType()),
                        t.hasShape() ? shape(t.getShape(), path + ".tensor_type.shape") : null, den, extra,
                        extra(t, path + ".tensor_type"));
            }
            case SPARSE_TENSOR_TYPE -> {
                var t = p.getSparseTensorType();
                yield new ValueType.SparseTensorType(elemType(t.getElemType()),
                        t.hasShape() ? shape(t.getShape(), path + ".sparse_tensor_type.shape") : null, den, extra,
                        extra(t, path + ".sparse_tensor_type"));
            }
            case SEQUENCE_TYPE -> new ValueType.SequenceType(p.getSequenceType().hasElemType()
                    ? type(p.getSequenceType().getElemType(), path + ".sequence_type.elem_type") : null, den, extra,
                    extra(p.getSequenceType(), path + ".sequence_type"));
            case MAP_TYPE -> new ValueType.MapType(elemType(p.getMapType().getKeyType()), p.getMapType().hasValueType()
                    ? type(p.getMapType().getValueType(), path + ".map_type.value_type") : null, den, extra,
                    extra(p.getMapType(), path + ".map_type"));
            case OPTIONAL_TYPE -> new ValueType.OptionalType(p.getOptionalType().hasElemType()
                    ? type(p.getOptionalType().getElemType(), path + ".optional_type.elem_type") : null, den, extra,
                    extra(p.getOptionalType(), path + ".optional_type"));
            case OPAQUE_TYPE -> new ValueType.OpaqueType(p.getOpaqueType().getDomain(), p.getOpaqueType().getName(),
                    den, extra, extra(p.getOpaqueType(), path + ".opaque_type"));
            case VALUE_NOT_SET -> new ValueType.UnsetType(den, extra);
        };
    }

    private static DataType elemType(int code) {
        return DataType.fromCode(code).orElse(DataType.UNDEFINED);
    }

    private Shape shape(TensorShapeProto p, String path) throws ModelFormatException {
        OpaqueFields shapeExtra = extra(p, path);
        List<Dim> dims = new ArrayList<>(p.getDimCount());
        for (int i = 0; i < p.getDimCount(); i++) {
            TensorShapeProto.Dimension d = p.getDim(i);
            OpaqueFields dimExtra = extra(d, path + ".dim[" + i + "]");
            Dim dim = switch (d.getValueCase()) {
                case DIM_VALUE -> Dim.of(d.getDimValue());
                case DIM_PARAM -> Dim.symbolic(d.getDimParam());
                case VALUE_NOT_SET -> Dim.unknown();
            };
            dim = d.getDenotation().isEmpty() ? dim : dim.withDenotation(d.getDenotation());
            dims.add(dimExtra.isEmpty() ? dim : dim.withExtra(dimExtra));
        }
        Shape shape = Shape.of(dims);
        return shapeExtra.isEmpty() ? shape : shape.withExtra(shapeExtra);
    }

    private Attribute attribute(AttributeProto p, String path, Scope scope) throws ModelFormatException {
        OpaqueFields extra = extra(p, path);
        int code = p.getTypeValue();
        AttributeType kind = AttributeType.fromCode(code).orElse(AttributeType.UNDEFINED);
        if (kind == AttributeType.UNDEFINED) {
            kind = inferKind(p);
        }
        Object value = switch (kind) {
            case FLOAT -> p.hasF() ? p.getF() : null;
            case INT -> p.hasI() ? p.getI() : null;
            case STRING -> p.hasS() ? p.getS().toByteArray() : null;
            case TENSOR -> p.hasT() ? tensor(p.getT(), path + ".t") : null;
            case GRAPH -> p.hasG() ? graph(p.getG(), path + ".g", scope) : null;
            case SPARSE_TENSOR -> p.hasSparseTensor() ? sparse(p.getSparseTensor(), path + ".sparse_tensor") : null;
            case TYPE_PROTO -> p.hasTp() ? type(p.getTp(), path + ".tp") : null;
            case FLOATS -> {
                float[] a = new float[p.getFloatsCount()];
                for (int i = 0; i < a.length; i++) {
                    a[i] = p.getFloats(i);
                }
                yield a;
            }
            case INTS -> {
                long[] a = new long[p.getIntsCount()];
                for (int i = 0; i < a.length; i++) {
                    a[i] = p.getInts(i);
                }
                yield a;
            }
            case STRINGS -> p.getStringsList().stream().map(b -> b.toByteArray()).toList();
            case TENSORS -> {
                List<Tensor> out = new ArrayList<>();
                for (int i = 0; i < p.getTensorsCount(); i++) {
                    out.add(tensor(p.getTensors(i), path + ".tensors[" + i + "]"));
                }
                yield out;
            }
            case GRAPHS -> {
                List<Graph> out = new ArrayList<>();
                for (int i = 0; i < p.getGraphsCount(); i++) {
                    out.add(graph(p.getGraphs(i), path + ".graphs[" + i + "]", scope));
                }
                yield out;
            }
            case SPARSE_TENSORS -> {
                List<SparseTensor> out = new ArrayList<>();
                for (int i = 0; i < p.getSparseTensorsCount(); i++) {
                    out.add(sparse(p.getSparseTensors(i), path + ".sparse_tensors[" + i + "]"));
                }
                yield out;
            }
            case TYPE_PROTOS -> {
                List<ValueType> out = new ArrayList<>();
                for (int i = 0; i < p.getTypeProtosCount(); i++) {
                    out.add(type(p.getTypeProtos(i), path + ".type_protos[" + i + "]"));
                }
                yield out;
            }
            case UNDEFINED -> null;
        };
        return new Attribute(p.getName(), kind, code, value, p.getRefAttrName(), p.getDocString(), extra);
    }

    /** IR version 1 files have no attribute type: the set field says what it is. */
    private static AttributeType inferKind(AttributeProto p) {
        if (p.hasF()) return AttributeType.FLOAT;
        if (p.hasI()) return AttributeType.INT;
        if (p.hasS()) return AttributeType.STRING;
        if (p.hasT()) return AttributeType.TENSOR;
        if (p.hasG()) return AttributeType.GRAPH;
        if (p.hasSparseTensor()) return AttributeType.SPARSE_TENSOR;
        if (p.hasTp()) return AttributeType.TYPE_PROTO;
        if (p.getFloatsCount() > 0) return AttributeType.FLOATS;
        if (p.getIntsCount() > 0) return AttributeType.INTS;
        if (p.getStringsCount() > 0) return AttributeType.STRINGS;
        if (p.getTensorsCount() > 0) return AttributeType.TENSORS;
        if (p.getGraphsCount() > 0) return AttributeType.GRAPHS;
        if (p.getSparseTensorsCount() > 0) return AttributeType.SPARSE_TENSORS;
        if (p.getTypeProtosCount() > 0) return AttributeType.TYPE_PROTOS;
        return AttributeType.UNDEFINED;
    }

    private SparseTensor sparse(SparseTensorProto p, String path) throws ModelFormatException {
        long[] dims = new long[p.getDimsCount()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = p.getDims(i);
            if (dims[i] < 0) {
                throw error(path + ".dims[" + i + "]", "dim " + dims[i] + " is negative");
            }
        }
        return new SparseTensor(p.hasValues() ? tensor(p.getValues(), path + ".values") : null,
                p.hasIndices() ? tensor(p.getIndices(), path + ".indices") : null, dims, extra(p, path));
    }

    Tensor tensor(TensorProto p, String path) throws ModelFormatException {
        OpaqueFields extra = extra(p, path);
        long[] dims = new long[p.getDimsCount()];
        long count = 1;
        for (int i = 0; i < dims.length; i++) {
            dims[i] = p.getDims(i);
            if (dims[i] < 0) {
                throw error(path + ".dims[" + i + "]", "dim " + dims[i] + " is negative");
            }
            try {
                count = Math.multiplyExact(count, dims[i]);
            } catch (ArithmeticException e) {
                throw error(path + ".dims", "the element count overflows a 64-bit integer");
            }
        }
        Optional<DataType> known = DataType.fromCode(p.getDataType());
        TensorData data;
        if (p.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            data = external(p, path, known, count);
        } else if (p.hasRawData()) {
            data = new TensorData.Raw(p.getRawData().asReadOnlyByteBuffer());
            if (known.isPresent()) {
                checkRawLength(known.get(), count, p.getRawData().size(), path + ".raw_data", dims);
            }
        } else {
            data = fields(p, path, known.orElse(null), count);
        }
        byte[] segment = p.hasSegment() ? p.getSegment().toByteArray() : null;
        return new Tensor(p.getName(), p.getDataType(), dims, data, p.getDocString(), pairs(p.getMetadataPropsList()),
                segment, extra);
    }

    private void checkRawLength(DataType type, long count, long bytes, String path, long[] dims)
            throws ModelFormatException {
        if (type == DataType.STRING) {
            throw error(path, "STRING tensors keep their values in string_data, not raw_data");
        }
        if (type.bits() == 0) {
            return;
        }
        long expected;
        try {
            expected = type.byteSize(count);
        } catch (ArithmeticException e) {
            throw error(path, "dims " + java.util.Arrays.toString(dims) + " of " + type + " overflow a 64-bit byte size");
        }
        if (expected != bytes) {
            throw error(path, "holds " + bytes + " bytes, but dims " + java.util.Arrays.toString(dims) + " of " + type
                    + " need " + expected);
        }
    }

    private TensorData fields(TensorProto p, String path, DataType type, long count) throws ModelFormatException {
        List<TensorData.Fields> present = new ArrayList<>();
        if (p.getFloatDataCount() > 0) {
            float[] a = new float[p.getFloatDataCount()];
            for (int i = 0; i < a.length; i++) {
                a[i] = p.getFloatData(i);
            }
            present.add(new TensorData.Fields(TensorData.Field.FLOAT_DATA, a));
        }
        if (p.getInt32DataCount() > 0) {
            int[] a = new int[p.getInt32DataCount()];
            for (int i = 0; i < a.length; i++) {
                a[i] = p.getInt32Data(i);
            }
            present.add(new TensorData.Fields(TensorData.Field.INT32_DATA, a));
        }
        if (p.getInt64DataCount() > 0) {
            long[] a = new long[p.getInt64DataCount()];
            for (int i = 0; i < a.length; i++) {
                a[i] = p.getInt64Data(i);
            }
            present.add(new TensorData.Fields(TensorData.Field.INT64_DATA, a));
        }
        if (p.getDoubleDataCount() > 0) {
            double[] a = new double[p.getDoubleDataCount()];
            for (int i = 0; i < a.length; i++) {
                a[i] = p.getDoubleData(i);
            }
            present.add(new TensorData.Fields(TensorData.Field.DOUBLE_DATA, a));
        }
        if (p.getUint64DataCount() > 0) {
            long[] a = new long[p.getUint64DataCount()];
            for (int i = 0; i < a.length; i++) {
                a[i] = p.getUint64Data(i);
            }
            present.add(new TensorData.Fields(TensorData.Field.UINT64_DATA, a));
        }
        if (p.getStringDataCount() > 0) {
            present.add(new TensorData.Fields(TensorData.Field.STRING_DATA,
                    p.getStringDataList().stream().map(b -> b.toByteArray()).toList()));
        }
        if (present.size() > 1) {
            throw error(path, "values are spread over several data fields (" + present.stream()
                    .map(f -> f.field().name().toLowerCase()).toList() + ")");
        }
        TensorData.Fields f = present.isEmpty() ? TensorData.Fields.EMPTY : present.get(0);
        if (type == null || type == DataType.UNDEFINED) {
            return f;
        }
        TensorData.Field expectedField = fieldFor(type);
        long expectedCount;
        try {
            expectedCount = switch (type) {
                case COMPLEX64, COMPLEX128 -> Math.multiplyExact(count, 2L);
                case INT4, UINT4, FLOAT4E2M1 -> (count + 1) / 2;
                case INT2, UINT2 -> (count + 3) / 4;
                default -> count;
            };
        } catch (ArithmeticException e) {
            throw error(path + "." + (f.field() == TensorData.Field.NONE ? "dims" : f.field().name().toLowerCase()), "dims "
                    + java.util.Arrays.toString(p.getDimsList().toArray()) + " of " + type + " overflow a 64-bit value count");
        }
        if (f.field() == TensorData.Field.NONE) {
            if (expectedCount != 0) {
                throw error(path, "has no data, but dims " + java.util.Arrays.toString(p.getDimsList().toArray())
                        + " declare " + count + " elements");
            }
            return f;
        }
        String fieldPath = path + "." + f.field().name().toLowerCase();
        if (f.field() != expectedField) {
            throw error(fieldPath, type + " values cannot be stored in " + f.field().name().toLowerCase()
                    + " (expected " + expectedField.name().toLowerCase() + ")");
        }
        if (f.count() != expectedCount) {
            throw error(fieldPath, "holds " + f.count() + " values, but dims "
                    + java.util.Arrays.toString(p.getDimsList().toArray()) + " of " + type + " need " + expectedCount);
        }
        return f;
    }

    private static TensorData.Field fieldFor(DataType type) {
        return switch (type) {
            case FLOAT, COMPLEX64 -> TensorData.Field.FLOAT_DATA;
            case DOUBLE, COMPLEX128 -> TensorData.Field.DOUBLE_DATA;
            case INT64 -> TensorData.Field.INT64_DATA;
            case UINT32, UINT64 -> TensorData.Field.UINT64_DATA;
            case STRING -> TensorData.Field.STRING_DATA;
            default -> TensorData.Field.INT32_DATA;
        };
    }

    private TensorData external(TensorProto p, String path, Optional<DataType> type, long count)
            throws ModelFormatException {
        String ep = path + ".external_data";
        List<StringPair> entries = pairs(p.getExternalDataList());
        String location = null;
        long offset = 0;
        long length = -1;
        for (int i = 0; i < entries.size(); i++) {
            StringPair e = entries.get(i);
            switch (e.key()) {
                case "location" -> location = e.value();
                case "offset" -> offset = parseLong(e.value(), ep + "[" + i + "]", "offset");
                case "length" -> length = parseLong(e.value(), ep + "[" + i + "]", "length");
                default -> {
                }
            }
        }
        if (location == null || location.isEmpty()) {
            throw error(ep, "external data has no location");
        }
        Path resolved = checkLocation(location, ep);
        long size;
        try {
            size = Files.size(resolved);
        } catch (IOException e) {
            throw error(ep, "cannot read external data file '" + location + "': " + e.getMessage());
        }
        if (offset < 0 || offset > size) {
            throw error(ep, "offset " + offset + " is outside '" + location + "' (" + size + " bytes)");
        }
        if (length < 0) {
            length = size - offset;
        }
        if (length > size - offset) {
            throw error(ep, "region " + offset + "+" + length + " runs past the end of '" + location + "' ("
                    + size + " bytes)");
        }
        if (type.isPresent()) {
            checkRawLength(type.get(), count, length, ep, p.getDimsList().stream().mapToLong(Long::longValue).toArray());
        }
        return new TensorData.External(new ExternalLocation(entries, resolved, offset, length));
    }

    private long parseLong(String s, String path, String what) throws ModelFormatException {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw error(path, what + " '" + s + "' is not an integer");
        }
    }

    /**
     * External data may only name a file inside the model's folder: a relative path without
     * {@code ..}, which after resolving symlinks still lies inside the folder. Anything else could
     * read arbitrary files of the machine that loads the model.
     */
    private Path checkLocation(String location, String path) throws ModelFormatException {
        if (baseDir == null) {
            throw error(path, "external data '" + location + "' needs the model's folder; read the model from its file");
        }
        if (location.startsWith("/") || location.startsWith("\\") || location.matches("^[A-Za-z]:.*")
                || Path.of(location).isAbsolute()) {
            throw error(path, "external data location '" + location + "' is absolute; it must be relative to the model's folder");
        }
        for (String part : location.split("[/\\\\]")) {
            if (part.equals("..")) {
                throw error(path, "external data location '" + location + "' contains '..'");
            }
        }
        if (location.indexOf('\0') >= 0) {
            throw error(path, "external data location contains a NUL character");
        }
        Path resolved = baseDir.resolve(location).normalize();
        try {
            if (realBaseDir == null) {
                realBaseDir = baseDir.toRealPath();
            }
            if (!Files.exists(resolved, LinkOption.NOFOLLOW_LINKS) && !Files.exists(resolved)) {
                throw error(path, "external data file '" + location + "' does not exist");
            }
            Path real = resolved.toRealPath();
            if (!real.startsWith(realBaseDir)) {
                throw error(path, "external data location '" + location + "' resolves outside the model's folder");
            }
            if (!Files.isRegularFile(real)) {
                throw error(path, "external data location '" + location + "' is not a regular file");
            }
            return real;
        } catch (IOException e) {
            if (e instanceof ModelFormatException mfe) {
                throw mfe;
            }
            throw error(path, "cannot resolve external data location '" + location + "': " + e.getMessage());
        }
    }

    private List<StringPair> pairs(List<StringStringEntryProto> entries) throws ModelFormatException {
        if (entries.isEmpty()) {
            return List.of();
        }
        List<StringPair> out = new ArrayList<>(entries.size());
        for (StringStringEntryProto e : entries) {
            out.add(new StringPair(e.getKey(), e.getValue(), extra(e, "string entry '" + e.getKey() + "'")));
        }
        return out;
    }

    /**
     * Unknown fields of a message, kept for the round trip. A field number the schema knows, seen
     * as unknown, means its wire type was wrong: protobuf parks such fields instead of failing, but
     * the file is malformed.
     */
    private OpaqueFields extra(Message m, String path) throws ModelFormatException {
        UnknownFieldSet unknown = m.getUnknownFields();
        if (unknown.asMap().isEmpty()) {
            return OpaqueFields.NONE;
        }
        checkWireTypes(m, unknown, path);
        return OpaqueFields.of(unknown.toByteArray());
    }

    private void checkWireTypes(Message m, UnknownFieldSet unknown, String path) throws ModelFormatException {
        for (int number : unknown.asMap().keySet()) {
            FieldDescriptor fd = m.getDescriptorForType().findFieldByNumber(number);
            if (fd != null) {
                throw error((path.isEmpty() ? "" : path + ".") + fd.getName(),
                        "wrong wire type for a field of type " + fd.getType().name().toLowerCase());
            }
        }
    }
}
