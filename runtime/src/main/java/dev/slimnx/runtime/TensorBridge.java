package dev.slimnx.runtime;

import ai.onnxruntime.MapInfo;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.SequenceInfo;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorCodec;
import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Converts between IR tensors and ONNX Runtime values. */
final class TensorBridge {
    /** ONNX raw layout is little endian; ORT reads and writes native order. */
    private static final boolean NATIVE_LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private TensorBridge() {
    }

    /**
     * @param type an element type
     * @return the Java API type that carries it, or null when the Java API cannot create such tensors
     */
    static OnnxJavaType javaType(DataType type) {
        return switch (type) {
            case FLOAT -> OnnxJavaType.FLOAT;
            case DOUBLE -> OnnxJavaType.DOUBLE;
            case FLOAT16 -> OnnxJavaType.FLOAT16;
            case BFLOAT16 -> OnnxJavaType.BFLOAT16;
            case INT8 -> OnnxJavaType.INT8;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT16 -> OnnxJavaType.INT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case BOOL -> OnnxJavaType.BOOL;
            case STRING -> OnnxJavaType.STRING;
            default -> null;
        };
    }

    /**
     * Creates an ORT tensor over the IR tensor's bytes. A direct buffer (the usual case: a view into
     * a memory-mapped model or data file) is passed to ORT as it is; anything else is copied once into
     * a direct buffer. The caller closes the result.
     *
     * @param env the environment
     * @param tensor the values
     * @param what for messages, e.g. {@code input 'x'}
     * @param model for messages
     * @return a new ORT tensor
     * @throws RuntimeFailure if the element type cannot be passed through the Java API
     * @throws OrtException if ORT refuses the tensor
     */
    static OnnxTensor toOrt(OrtEnvironment env, Tensor tensor, String what, String model) throws OrtException {
        DataType type = tensor.dataType();
        OnnxJavaType javaType = javaType(type);
        if (javaType == null) {
            throw new RuntimeFailure(RuntimeFailure.Kind.UNSUPPORTED_TYPE, model, what + " has element type " + type
                    + ", which the ONNX Runtime Java API cannot pass (supported: FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT8,"
                    + " UINT8, INT16, INT32, INT64, BOOL, STRING)", null);
        }
        long[] dims = tensor.dims();
        if (type == DataType.STRING) {
            List<byte[]> values = tensor.strings();
            String[] strings = new String[values.size()];
            for (int i = 0; i < strings.length; i++) {
                strings[i] = new String(values.get(i), StandardCharsets.UTF_8);
            }
            return OnnxTensor.createTensor(env, strings, dims);
        }
        if (!NATIVE_LITTLE_ENDIAN) {
            throw new RuntimeFailure(RuntimeFailure.Kind.UNSUPPORTED_TYPE, model,
                    "slimnx passes tensors to ONNX Runtime in little-endian layout; this machine is big endian", null);
        }
        ByteBuffer raw = tensor.rawBytes();
        ByteBuffer data;
        if (raw.isDirect()) {
            data = raw.order(ByteOrder.LITTLE_ENDIAN);
        } else {
            data = ByteBuffer.allocateDirect(raw.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            data.put(raw.duplicate()).flip();
        }
        return OnnxTensor.createTensor(env, data, dims, javaType);
    }

    /**
     * Copies an ORT output into a new IR tensor.
     *
     * @param name the output's name
     * @param value the ORT value
     * @param model for messages
     * @return the tensor, with heap storage in ONNX raw layout (or string values)
     * @throws RuntimeFailure for non-tensor outputs and element types the Java API cannot read
     * @throws OrtException if ORT fails to hand over the values
     */
    static Tensor fromOrt(String name, OnnxValue value, String model) throws OrtException {
        if (!(value instanceof OnnxTensor tensor)) {
            throw new RuntimeFailure(RuntimeFailure.Kind.UNSUPPORTED_TYPE, model, "output '" + name + "' is a "
                    + value.getType() + "; slimnx reads tensor outputs only", null);
        }
        TensorInfo info = tensor.getInfo();
        DataType type = dataType(info.onnxType);
        long[] dims = info.getShape();
        if (javaType(type) == null) {
            throw new RuntimeFailure(RuntimeFailure.Kind.UNSUPPORTED_TYPE, model, "output '" + name + "' has element type "
                    + type + ", which the ONNX Runtime Java API cannot read", null);
        }
        if (type == DataType.STRING) {
            List<byte[]> strings = new ArrayList<>();
            flattenStrings(tensor.getValue(), strings);
            return new Tensor(name, type.code(), dims, TensorCodec.stringFields(strings), "", List.of(), null,
                    OpaqueFields.NONE);
        }
        ByteBuffer bytes = tensor.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        return Tensor.ofRaw(name, type, dims, bytes);
    }

    private static void flattenStrings(Object value, List<byte[]> out) {
        if (value instanceof String s) {
            out.add(s.getBytes(StandardCharsets.UTF_8));
        } else if (value != null && value.getClass().isArray()) {
            for (int i = 0, n = Array.getLength(value); i < n; i++) {
                flattenStrings(Array.get(value, i), out);
            }
        }
    }

    /**
     * @param name the value's name
     * @param node ORT's description
     * @return the IR description
     */
    static IoInfo ioInfo(String name, NodeInfo node) {
        ValueInfo info = node.getInfo();
        return switch (info) {
            case TensorInfo t -> new IoInfo(name, IoInfo.Kind.TENSOR,
                    dataType(t.onnxType), shape(t));
            case SequenceInfo s -> new IoInfo(name, IoInfo.Kind.SEQUENCE, DataType.UNDEFINED, null);
            case MapInfo m -> new IoInfo(name, IoInfo.Kind.MAP, DataType.UNDEFINED, null);
            default -> new IoInfo(name, IoInfo.Kind.OTHER, DataType.UNDEFINED, null);
        };
    }

    /**
     * NOTE: {@code OnnxTensorType.value} is the Java enum's own numbering, not ONNX's type code
     * (FLOAT is 10 there), so the mapping goes by name.
     *
     * @param type ORT's element type
     * @return the IR element type, UNDEFINED when the IR has no such type
     */
    static DataType dataType(TensorInfo.OnnxTensorType type) {
        String prefix = "ONNX_TENSOR_ELEMENT_DATA_TYPE_";
        String name = type.name();
        if (name.startsWith(prefix)) {
            try {
                return DataType.valueOf(name.substring(prefix.length()));
            } catch (IllegalArgumentException unknown) {
                return DataType.UNDEFINED;
            }
        }
        return DataType.UNDEFINED;
    }

    private static Shape shape(TensorInfo t) {
        long[] sizes = t.getShape();
        String[] names = t.getDimensionNames();
        List<Dim> dims = new ArrayList<>(sizes.length);
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] >= 0) {
                dims.add(Dim.of(sizes[i]));
            } else if (names != null && i < names.length && !names[i].isEmpty()) {
                dims.add(Dim.symbolic(names[i]));
            } else {
                dims.add(Dim.unknown());
            }
        }
        return Shape.of(dims);
    }
}
