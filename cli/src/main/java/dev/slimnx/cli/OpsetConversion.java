package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.schema.OpSchema;
import dev.slimnx.graph.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * {@code export --target-opset}: moves a model's default-domain opset import, and only when every
 * op the model uses keeps its meaning at the new version.
 *
 * <p>Raising the import from {@code a} to {@code b} re-reads every node at the op's version for
 * {@code b}. That is safe when each version the op gained in {@code (a, b]} only added types or
 * optional inputs and attributes whose defaults give the old behaviour ({@link #KEEPS_MEANING},
 * taken from the ONNX operator changelog), and for the one rewrite slimnx does: the Reduce ops of
 * opset 18 take {@code axes} as an input instead of an attribute, so the attribute becomes an
 * int64 initializer. Lowering is allowed only when no op used has another version at the target.
 * Everything else is refused with the op and the version named.
 */
final class OpsetConversion {
    /** The highest target slimnx has checked the ops' changes up to. */
    static final int MAX_TARGET = 21;
    static final int MIN_TARGET = 7;

    /** {@code Op@version}: moving an existing node into that version keeps what it computes. */
    private static final Set<String> KEEPS_MEANING = Set.of(
            "Constant@19", "Constant@21", "Shape@19", "Shape@21", "Size@19", "Size@21",
            "Reshape@19", "Reshape@21", "Identity@19", "Identity@21", "Cast@19", "Cast@21",
            "CastLike@19", "CastLike@21", "Unsqueeze@21", "Squeeze@21", "Transpose@21", "Flatten@21",
            "Pad@18", "Pad@19", "Pad@21", "Split@18", "Resize@18", "Resize@19", "Equal@19",
            "ConstantOfShape@20", "ConstantOfShape@21", "AveragePool@19", "ReduceMax@20", "ReduceMin@20",
            "If@19", "If@21", "Loop@19", "Loop@21", "Scan@19", "Scan@21",
            "QuantizeLinear@19", "QuantizeLinear@21", "DequantizeLinear@19", "DequantizeLinear@21");

    /** The Reduce ops whose {@code axes} attribute became an input at opset 18 (ReduceSum did at 13). */
    private static final Set<String> AXES_TO_INPUT_18 = Set.of("ReduceL1", "ReduceL2", "ReduceLogSum",
            "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare");

    private OpsetConversion() {
    }

    /**
     * @param model the model, changed in place only when every check passed
     * @param target the opset to move the default domain to
     * @param file the model's file, for messages
     * @return what was rewritten, e.g. {@code ReduceMean axes -> input (1 node)}; empty when only the import moved
     * @throws UserError naming the ops that would change meaning, or a target out of range
     */
    static List<String> convert(Model model, int target, Path file) {
        long current = model.opsetVersion("");
        if (target < MIN_TARGET || target > MAX_TARGET) {
            throw new UserError("--target-opset must be between " + MIN_TARGET + " and " + MAX_TARGET
                    + " (the versions slimnx knows the op changes for), got " + target);
        }
        if (current <= 0) {
            throw new UserError(file + ": the model imports no ai.onnx opset to convert");
        }
        if (target == current) {
            return List.of();
        }
        TreeMap<String, Integer> used = new TreeMap<>();
        for (Node n : model.graph().allNodes()) {
            if (n.isOnnxDomain()) {
                used.merge(n.opType(), 1, Integer::sum);
            }
        }
        List<String> refused = new ArrayList<>();
        TreeSet<String> rewrites = new TreeSet<>();
        for (String op : used.keySet()) {
            Optional<OpSchema> schema = OpSchema.find("", op);
            if (schema.isEmpty()) {
                refused.add(op + " (not in slimnx's op table)");
                continue;
            }
            if (schema.get().versionAt(target).isEmpty()) {
                refused.add(op + " (does not exist at opset " + target + ")");
                continue;
            }
            for (int since : schema.get().sinceVersions()) {
                boolean crossed = target > current ? since > current && since <= target
                        : since > target && since <= current;
                if (!crossed) {
                    continue;
                }
                if (target > current && KEEPS_MEANING.contains(op + "@" + since)) {
                    continue;
                }
                if (target > current && since == 18 && AXES_TO_INPUT_18.contains(op)) {
                    rewrites.add(op);
                    continue;
                }
                refused.add(op + " (changed at opset " + since + ")");
                break;
            }
        }
        if (!refused.isEmpty()) {
            throw new UserError(file + ": cannot move opset " + current + " -> " + target + " without changing what"
                    + " these ops compute: " + String.join(", ", refused) + "; slimnx does not convert them");
        }
        List<String> done = new ArrayList<>();
        for (String op : rewrites) {
            int count = 0;
            for (Node n : model.graph().allNodes()) {
                if (n.is(op) && n.attribute("axes") != null) {
                    long[] axes = n.intsAttr("axes");
                    String name = n.graph().names().fresh(n.name().isEmpty() ? op + "_axes" : n.name() + "_axes");
                    n.addInput(n.graph().addInitializer(Tensor.ofLongs(name, new long[] {axes.length}, axes)));
                    n.removeAttribute("axes");
                    count++;
                }
            }
            if (count > 0) {
                done.add(op + " axes attribute -> input (" + count + " node" + (count == 1 ? ")" : "s)"));
            }
        }
        model.setOpsetVersion("", target);
        // NOTE: the IR version each opset was released with; ONNX Runtime refuses a newer opset under an older IR.
        long ir = target >= 21 ? 10 : target >= 19 ? 9 : 8;
        if (model.irVersion() < ir) {
            model.setIrVersion(ir);
        }
        return done;
    }
}
