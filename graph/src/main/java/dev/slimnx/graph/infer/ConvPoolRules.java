package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Sliding-window ops on NC(spatial) tensors: Conv, ConvInteger, QLinearConv, ConvTranspose, the
 * pools, the global pools, Resize and Upsample. Output spatial sizes follow the ONNX formulas,
 * including {@code auto_pad} and {@code ceil_mode}; batch and channels pass through symbolically.
 */
final class ConvPoolRules {
    private ConvPoolRules() {
    }

    static void register(Map<String, ShapeRule> rules) {
        rules.put("Conv", ctx -> conv(ctx, 0, 1, ctx.elemType(0)));
        rules.put("ConvInteger", ctx -> conv(ctx, 0, 1, DataType.INT32));
        rules.put("QLinearConv", ctx -> conv(ctx, 0, 3, ctx.elemType(7)));
        rules.put("ConvTranspose", ConvPoolRules::convTranspose);
        for (String op : List.of("AveragePool", "MaxPool", "LpPool")) {
            rules.put(op, ConvPoolRules::pool);
        }
        for (String op : List.of("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")) {
            rules.put(op, ConvPoolRules::globalPool);
        }
        rules.put("Resize", ConvPoolRules::resize);
        rules.put("Upsample", ConvPoolRules::resize);
    }

    private static void conv(NodeContext ctx, int x, int w, DataType type) {
        Shape in = ctx.shape(x);
        Shape weight = ctx.shape(w);
        if (in == null) {
            ctx.set(type, weight == null ? null : Dims.unknownDims(weight.rank()));
            return;
        }
        int spatial = in.rank() - 2;
        long[] kernel = ctx.intsAttr("kernel_shape");
        List<Dim> k = new ArrayList<>();
        for (int i = 0; i < spatial; i++) {
            k.add(kernel != null ? Dim.of(kernel[i]) : weight != null ? weight.dim(2 + i) : Dim.unknown());
        }
        List<Dim> out = new ArrayList<>();
        out.add(in.dim(0));
        out.add(weight != null ? weight.dim(0) : Dim.unknown());
        out.addAll(windows(ctx, in, k, false));
        ctx.set(type, Shape.of(out));
    }

    private static void pool(NodeContext ctx) {
        Shape in = ctx.shape(0);
        if (in == null) {
            ctx.set(ctx.elemType(0), null);
            return;
        }
        long[] kernel = ctx.intsAttr("kernel_shape");
        List<Dim> k = new ArrayList<>();
        for (long v : kernel) {
            k.add(Dim.of(v));
        }
        List<Dim> out = new ArrayList<>(in.dims().subList(0, 2));
        out.addAll(windows(ctx, in, k, ctx.intAttr("ceil_mode", 0) != 0));
        ctx.set(ctx.elemType(0), Shape.of(out));
        ctx.set(1, DataType.INT64, Shape.of(out));
    }

    /** Output spatial dims of a strided, dilated, padded window over the spatial dims of {@code in}. */
    private static List<Dim> windows(NodeContext ctx, Shape in, List<Dim> kernel, boolean ceil) {
        int spatial = in.rank() - 2;
        long[] strides = ctx.intsAttr("strides");
        long[] dilations = ctx.intsAttr("dilations");
        long[] pads = ctx.intsAttr("pads");
        String autoPad = ctx.stringAttr("auto_pad", "NOTSET");
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < spatial; i++) {
            Dim d = in.dim(2 + i);
            long s = strides == null ? 1 : strides[i];
            long dil = dilations == null ? 1 : dilations[i];
            if (!d.isKnown() || !kernel.get(i).isKnown()) {
                out.add(Dim.unknown());
                continue;
            }
            long size = d.value();
            long effective = dil * (kernel.get(i).value() - 1) + 1;
            long n = switch (autoPad) {
                case "SAME_UPPER", "SAME_LOWER" -> ceilDiv(size, s);
                case "VALID" -> ceilDiv(size - effective + 1, s);
                default -> {
                    long total = pads == null ? 0 : pads[i] + pads[i + spatial];
                    long span = size + total - effective;
                    long windows = (ceil ? ceilDiv(span, s) : Math.floorDiv(span, s)) + 1;
                    if (ceil && (windows - 1) * s >= size + (pads == null ? 0 : pads[i])) {
                        windows--; // the last window would start in the right padding
                    }
                    yield windows;
                }
            };
            out.add(Dim.of(n));
        }
        return out;
    }

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }

    private static void convTranspose(NodeContext ctx) {
        Shape in = ctx.shape(0);
        Shape weight = ctx.shape(1);
        if (in == null) {
            ctx.set(ctx.elemType(0), null);
            return;
        }
        int spatial = in.rank() - 2;
        long group = ctx.intAttr("group", 1);
        List<Dim> out = new ArrayList<>();
        out.add(in.dim(0));
        out.add(weight == null ? Dim.unknown() : Dims.mul(weight.dim(1), Dim.of(group)));
        long[] outputShape = ctx.intsAttr("output_shape");
        long[] kernel = ctx.intsAttr("kernel_shape");
        long[] strides = ctx.intsAttr("strides");
        long[] dilations = ctx.intsAttr("dilations");
        long[] pads = ctx.intsAttr("pads");
        long[] outputPadding = ctx.intsAttr("output_padding");
        String autoPad = ctx.stringAttr("auto_pad", "NOTSET");
        for (int i = 0; i < spatial; i++) {
            if (outputShape != null) {
                out.add(Dim.of(outputShape[outputShape.length - spatial + i]));
                continue;
            }
            Dim d = in.dim(2 + i);
            Dim k = kernel != null ? Dim.of(kernel[i]) : weight != null ? weight.dim(2 + i) : Dim.unknown();
            long s = strides == null ? 1 : strides[i];
            if (!d.isKnown() || !k.isKnown()) {
                out.add(Dim.unknown());
                continue;
            }
            if (autoPad.startsWith("SAME")) {
                out.add(Dim.of(d.value() * s));
                continue;
            }
            long dil = dilations == null ? 1 : dilations[i];
            long total = pads == null ? 0 : pads[i] + pads[i + spatial];
            long extra = outputPadding == null ? 0 : outputPadding[i];
            out.add(Dim.of(s * (d.value() - 1) + extra + (k.value() - 1) * dil + 1 - total));
        }
        ctx.set(ctx.elemType(0), Shape.of(out));
    }

    private static void globalPool(NodeContext ctx) {
        Shape in = ctx.shape(0);
        if (in == null) {
            ctx.set(ctx.elemType(0), null);
            return;
        }
        List<Dim> out = new ArrayList<>(in.dims().subList(0, 2));
        for (int i = 2; i < in.rank(); i++) {
            out.add(Dim.of(1));
        }
        ctx.set(ctx.elemType(0), Shape.of(out));
    }

    private static void resize(NodeContext ctx) {
        Shape in = ctx.shape(0);
        DataType type = ctx.elemType(0);
        if (in == null) {
            ctx.set(type, null);
            return;
        }
        boolean upsample = ctx.node().opType().equals("Upsample");
        float[] scales;
        long[] sizes = null;
        if (upsample) {
            scales = ctx.opset() >= 9 ? ctx.floats(1) : ctx.node().attribute("scales") != null
                    ? ctx.node().attribute("scales").asFloats() : null;
        } else if (ctx.opset() < 11) {
            scales = ctx.floats(1);
        } else {
            scales = ctx.has(2) ? ctx.floats(2) : null;
            sizes = ctx.has(3) ? ctx.longs(3) : null;
            if (scales != null && scales.length == 0) {
                scales = null;
            }
        }
        long[] axes = ctx.opset() >= 18 ? ctx.intsAttr("axes") : null;
        boolean stretch = ctx.stringAttr("keep_aspect_ratio_policy", "stretch").equals("stretch");
        List<Dim> out = NodeContext.dims(in);
        int n = axes == null ? in.rank() : axes.length;
        for (int j = 0; j < n; j++) {
            int axis = axes == null ? j : Dims.axis(axes[j], in.rank());
            Dim d = in.dim(axis);
            if (sizes != null && stretch) {
                out.set(axis, Dim.of(sizes[j]));
            } else if (scales != null && sizes == null && d.isKnown()) {
                out.set(axis, Dim.of((long) Math.floor(d.value() * (double) scales[j])));
            } else if (scales != null && sizes == null && scales[j] == 1f) {
                out.set(axis, d);
            } else {
                out.set(axis, Dim.unknown());
            }
        }
        ctx.set(type, Shape.of(out));
    }
}
