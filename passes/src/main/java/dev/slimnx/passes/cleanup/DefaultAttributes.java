package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.AttributeType;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.tensor.Shape;
import java.util.Arrays;

/**
 * The attribute part of {@code compact}: an attribute whose value is the one ONNX assumes when it is
 * absent says nothing, yet PyTorch's exporter writes {@code dilations}, {@code strides}, {@code pads},
 * {@code group} and {@code kernel_shape} on every Conv (some 60 bytes each). Only defaults that have
 * not changed across the opsets slimnx reads are listed, plus Softmax's {@code axis = -1} from
 * opset 13 on (before it, the default was 1).
 */
final class DefaultAttributes {
    private DefaultAttributes() {
    }

    /**
     * @param n a node of the default domain
     * @param a one of its attributes
     * @param opset the model's default-domain opset
     * @return true when leaving {@code a} out means the same
     */
    static boolean isDefault(Node n, Attribute a, long opset) {
        if (!n.isOnnxDomain() || a.refAttrName() != null && !a.refAttrName().isEmpty()) {
            return false;
        }
        return switch (n.opType()) {
            case "Conv", "ConvTranspose" -> convDefault(n, a);
            case "Gemm" -> switch (a.name()) {
                case "alpha", "beta" -> isFloat(a, 1f);
                case "transA", "transB" -> isInt(a, 0);
                default -> false;
            };
            case "Flatten" -> a.name().equals("axis") && isInt(a, 1);
            case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin" -> a.name().equals("keepdims") && isInt(a, 1);
            case "Softmax", "LogSoftmax" -> opset >= 13 && a.name().equals("axis") && isInt(a, -1);
            case "LayerNormalization" -> switch (a.name()) {
                case "axis" -> isInt(a, -1);
                case "stash_type" -> isInt(a, 1);
                default -> false;
            };
            default -> false;
        };
    }

    private static boolean convDefault(Node n, Attribute a) {
        return switch (a.name()) {
            case "dilations", "strides" -> isInts(a, 1);
            case "pads" -> isInts(a, 0);
            case "group" -> isInt(a, 1);
            case "auto_pad" -> a.kind() == AttributeType.STRING && a.asString().equals("NOTSET");
            // the spec infers kernel_shape from W; only for Conv, whose W dims 2.. are the kernel
            case "kernel_shape" -> n.opType().equals("Conv") && kernelFromWeight(n, a);
            default -> false;
        };
    }

    private static boolean kernelFromWeight(Node n, Attribute a) {
        if (a.kind() != AttributeType.INTS || n.inputs().size() < 2 || n.input(1) == null) {
            return false;
        }
        Shape w = n.input(1).shape();
        if (w == null || !w.isStatic()) {
            return false;
        }
        long[] k = a.asInts();
        if (k.length != w.rank() - 2) {
            return false;
        }
        for (int i = 0; i < k.length; i++) {
            if (w.dim(2 + i).value() != k[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean isInt(Attribute a, long v) {
        return a.kind() == AttributeType.INT && a.asInt() == v;
    }

    private static boolean isFloat(Attribute a, float v) {
        return a.kind() == AttributeType.FLOAT && a.asFloat() == v;
    }

    private static boolean isInts(Attribute a, long v) {
        return a.kind() == AttributeType.INTS && Arrays.stream(a.asInts()).allMatch(x -> x == v);
    }
}
