package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime's {@code com.microsoft} ops that slimnx's own quantization writes: the quantized
 * matrix products. Their output shapes matter beyond checking: without them the MACs of a
 * dynamically quantized model went uncounted (a ViT's 3.62 M showed as 272 k in every report).
 */
final class ContribRules {
    private ContribRules() {
    }

    static void register(Map<String, ShapeRule> rules) {
        // DynamicQuantizeMatMul(A float, B int8 [K, N], ...) and MatMulIntegerToFloat(A, B, a_scale, ...): float A @ B
        rules.put("DynamicQuantizeMatMul", ctx -> ctx.set(ctx.elemType(0), LinearRules.matmul(ctx.shape(0), ctx.shape(1))));
        rules.put("MatMulIntegerToFloat", ctx -> ctx.set(ctx.elemType(2), LinearRules.matmul(ctx.shape(0), ctx.shape(1))));
        rules.put("MatMulNBits", ContribRules::matMulNBits);
    }

    /** A [..., K] times the packed weights of attribute N columns: [..., N], A's type. */
    private static void matMulNBits(NodeContext ctx) {
        Shape a = ctx.shape(0);
        long n = ctx.intAttr("N", -1);
        if (a == null || a.rank() == 0 || n <= 0) {
            ctx.set(ctx.elemType(0), null);
            return;
        }
        List<Dim> dims = NodeContext.dims(a);
        dims.set(dims.size() - 1, Dim.of(n));
        ctx.set(ctx.elemType(0), Shape.of(dims));
    }
}
