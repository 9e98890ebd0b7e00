package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Normalizations (output shaped like the input, plus the statistics some of them return) and the
 * quantization ops, whose output element type comes from the zero point, the scale or an attribute.
 */
final class NormalizationRules {
    private NormalizationRules() {
    }

    static void register(Map<String, ShapeRule> rules) {
        for (String op : List.of("InstanceNormalization", "GroupNormalization", "RMSNormalization",
                "LpNormalization", "MeanVarianceNormalization", "LRN")) {
            rules.put(op, ctx -> ctx.set(ctx.elemType(0), ctx.shape(0)));
        }
        rules.put("LayerNormalization", NormalizationRules::layerNorm);
        rules.put("BatchNormalization", ctx -> {
            ctx.set(ctx.elemType(0), ctx.shape(0));
            if (ctx.opset() >= 14) {
                ctx.set(1, ctx.elemType(3), ctx.shape(3));
                ctx.set(2, ctx.elemType(4), ctx.shape(4));
            }
        });
        rules.put("QuantizeLinear", ctx -> {
            DataType type = ctx.has(2) ? ctx.elemType(2) : null;
            long attr = ctx.opset() >= 21 ? ctx.intAttr("output_dtype", 0) : 0;
            if (type == null) {
                type = attr != 0 ? DataType.fromCode((int) attr).orElse(null) : ctx.has(2) ? null : DataType.UINT8;
            }
            ctx.set(type, ctx.shape(0));
        });
        rules.put("DequantizeLinear", ctx -> {
            long attr = ctx.opset() >= 23 ? ctx.intAttr("output_dtype", 0) : 0;
            DataType type = attr != 0 ? DataType.fromCode((int) attr).orElse(null)
                    : ctx.opset() >= 19 ? ctx.elemType(1) : DataType.FLOAT;
            ctx.set(type, ctx.shape(0));
        });
        rules.put("DynamicQuantizeLinear", ctx -> {
            ctx.set(0, DataType.UINT8, ctx.shape(0));
            ctx.set(1, DataType.FLOAT, Shape.of());
            ctx.set(2, DataType.UINT8, Shape.of());
        });
    }

    private static void layerNorm(NodeContext ctx) {
        Shape in = ctx.shape(0);
        ctx.set(ctx.elemType(0), in);
        if (in == null) {
            return;
        }
        int axis = Dims.axis(ctx.intAttr("axis", -1), in.rank());
        DataType stash = DataType.fromCode((int) ctx.intAttr("stash_type", 1)).orElse(null);
        List<Dim> stats = new ArrayList<>(in.dims().subList(0, axis));
        for (int k = axis; k < in.rank(); k++) {
            stats.add(Dim.of(1));
        }
        ctx.set(1, stash, Shape.of(stats));
        ctx.set(2, stash, Shape.of(stats));
    }
}
