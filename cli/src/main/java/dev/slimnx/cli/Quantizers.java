package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassManager;
import dev.slimnx.passes.cleanup.CompactPass;
import dev.slimnx.passes.quant.CalibrationData;
import dev.slimnx.passes.quant.CalibrationMethod;
import dev.slimnx.passes.quant.ConvertFp16Pass;
import dev.slimnx.passes.quant.QuantizeDynamicPass;
import dev.slimnx.passes.quant.QuantizeInt4Pass;
import dev.slimnx.passes.quant.QuantizeStaticPass;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The quantize command's options turned into a pass of the chosen mode, with extra nodes kept in
 * float on request (the sensitivity search asks for many such variants).
 */
final class Quantizers {
    /** The quantization modes of {@code slimnx quantize}. */
    enum Mode {
        STATIC, DYNAMIC, FP16, INT4;

        static Mode parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new UserError("--mode must be static, dynamic, fp16 or int4, got '" + s + "'");
            }
        }
    }

    private final Mode mode;
    private final CalibrationData calib;
    private final String method;
    private final Double percentile;
    private final boolean perChannel;
    private final String activationType;
    private final List<String> ops;
    private final List<String> exclude;
    private final int blockSize;
    private final boolean keepIoTypes;
    private final boolean compact;

    Quantizers(Mode mode, CalibrationData calib, String method, Double percentile, boolean perChannel,
               String activationType, List<String> ops, List<String> exclude, int blockSize, boolean keepIoTypes,
               boolean compact) {
        this.mode = mode;
        this.calib = calib;
        this.method = method;
        this.percentile = percentile;
        this.perChannel = perChannel;
        this.activationType = activationType;
        this.ops = ops;
        this.exclude = exclude;
        this.blockSize = blockSize;
        this.keepIoTypes = keepIoTypes;
        this.compact = compact;
        if (mode != Mode.STATIC && (method != null || percentile != null || activationType != null)) {
            throw new UserError("--method, --percentile and --activation-type only apply to --mode static");
        }
        if (mode != Mode.INT4 && blockSize != 32) {
            throw new UserError("--block-size only applies to --mode int4");
        }
        if (mode != Mode.FP16 && !keepIoTypes) {
            throw new UserError("--keep-io-types only applies to --mode fp16");
        }
    }

    /**
     * Quantizes a copy, then (unless {@code --no-compact}) compacts it ({@link CompactPass}): the result
     * is a deployable file, and in small models the exporter's names cost as much as the per-channel
     * scales.
     *
     * @param source the float model (not changed)
     * @param keepFloat node names kept in float besides {@code --exclude}
     * @return the quantized copy
     */
    Model quantize(Model source, Set<String> keepFloat) {
        Model copy = source.copy();
        List<Pass> passes = compact ? List.of(create(keepFloat), new CompactPass()) : List.of(create(keepFloat));
        new PassManager(passes, PassManager.Options.once()).run(copy, PassContext.defaults());
        return copy;
    }

    /**
     * @param keepFloat node names kept in float besides {@code --exclude}
     * @return the configured pass
     * @throws UserError for option values the pass rejects
     */
    Pass create(Set<String> keepFloat) {
        Set<String> excluded = new LinkedHashSet<>(exclude);
        excluded.addAll(keepFloat);
        try {
            return switch (mode) {
                case STATIC -> new QuantizeStaticPass(staticOptions(excluded));
                case DYNAMIC -> new QuantizeDynamicPass(new QuantizeDynamicPass.Options(
                        ops == null ? QuantizeDynamicPass.Options.defaults().opTypes() : Set.copyOf(ops), perChannel,
                        excluded));
                case INT4 -> new QuantizeInt4Pass(new QuantizeInt4Pass.Options(blockSize,
                        QuantizeInt4Pass.Options.defaults().symmetric(), excluded));
                case FP16 -> new ConvertFp16Pass(new ConvertFp16Pass.Options(keepIoTypes,
                        ConvertFp16Pass.Options.defaults().blockOps(), excluded));
            };
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    private QuantizeStaticPass.Options staticOptions(Set<String> excluded) {
        QuantizeStaticPass.Options d = QuantizeStaticPass.Options.defaults(calib);
        CalibrationMethod m = method == null ? d.method() : parseMethod(method);
        if (activationType != null && !activationType.equals("uint8") && !activationType.equals("int8")) {
            throw new UserError("--activation-type must be uint8 or int8, got '" + activationType + "'");
        }
        return new QuantizeStaticPass.Options(calib, d.calibBatches(), m, percentile == null ? d.percentile() : percentile,
                perChannel, activationType == null ? d.activationsUint8() : activationType.equals("uint8"),
                ops == null ? d.opTypes() : Set.copyOf(ops), excluded);
    }

    private static CalibrationMethod parseMethod(String s) {
        try {
            return CalibrationMethod.valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserError("--method must be minmax, percentile or entropy, got '" + s + "'");
        }
    }

    /**
     * @param model the float model
     * @return the nodes the mode would quantize, by name, with their op types, in graph order
     */
    Map<String, String> candidates(Model model) {
        Map<String, String> out = new LinkedHashMap<>();
        if (mode == Mode.STATIC) {
            for (Node n : QuantizeStaticPass.quantizableNodes(model, staticOptions(new LinkedHashSet<>(exclude)))) {
                out.put(n.name(), n.opType());
            }
            return out;
        }
        Set<String> types = mode == Mode.INT4 ? Set.of("MatMul")
                : ops == null ? QuantizeDynamicPass.Options.defaults().opTypes() : Set.copyOf(ops);
        for (Node n : model.graph().nodes()) {
            if (types.contains(n.opType()) && !n.name().isEmpty() && !exclude.contains(n.name())
                    && !exclude.contains(n.opType()) && hasFloatMatrixWeight(n)) {
                out.put(n.name(), n.opType());
            }
        }
        return out;
    }

    private static boolean hasFloatMatrixWeight(Node n) {
        Tensor w = n.inputs().size() > 1 && n.input(1) != null ? GraphEdits.constant(n.input(1)) : null;
        return w != null && w.dataType() == DataType.FLOAT && w.rank() == 2;
    }
}
