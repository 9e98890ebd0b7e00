package dev.slimnx.passes;

import dev.slimnx.passes.cleanup.CompactPass;
import dev.slimnx.passes.cleanup.DeadCodePass;
import dev.slimnx.passes.cleanup.EliminatePass;
import dev.slimnx.passes.cleanup.FoldConstantsPass;
import dev.slimnx.passes.fusion.FoldBatchNormPass;
import dev.slimnx.passes.fusion.FusePass;
import dev.slimnx.passes.prune.ConvChannelsPass;
import dev.slimnx.passes.prune.FfnRatioPass;
import dev.slimnx.passes.prune.HeadPass;
import dev.slimnx.passes.prune.QkDimPass;
import dev.slimnx.passes.prune.ReallocatePass;
import dev.slimnx.passes.quant.ConvertFp16Pass;
import dev.slimnx.passes.quant.QuantizeDynamicPass;
import dev.slimnx.passes.quant.QuantizeInt4Pass;
import dev.slimnx.passes.quant.QuantizeStaticPass;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The passes the CLI and recipes can name, in the order the default pipeline runs them.
 *
 * <p>NOTE: the lossless pipeline order matters only for speed, since the manager repeats it until
 * nothing changes: constants first (Constant nodes become initializers, Shape chains fold), so the
 * eliminations and folds after them see plain initializers; dead code last, to sweep what the
 * others left.
 */
public final class PassRegistry {
    private final Map<String, PassDescriptor> byId = new LinkedHashMap<>();

    /**
     * @param descriptors the passes, in default-pipeline order
     * @throws IllegalArgumentException on a repeated id
     */
    public PassRegistry(List<PassDescriptor> descriptors) {
        for (PassDescriptor d : descriptors) {
            if (byId.putIfAbsent(d.id(), d) != null) {
                throw new IllegalArgumentException("two passes with id " + d.id());
            }
        }
    }

    /** @return every pass slimnx ships */
    public static PassRegistry standard() {
        return new PassRegistry(List.of(FoldConstantsPass.DESCRIPTOR, EliminatePass.DESCRIPTOR,
                FoldBatchNormPass.DESCRIPTOR, FusePass.DESCRIPTOR, DeadCodePass.DESCRIPTOR,
                QuantizeStaticPass.DESCRIPTOR, QuantizeDynamicPass.DESCRIPTOR, QuantizeInt4Pass.DESCRIPTOR, ConvertFp16Pass.DESCRIPTOR,
                FfnRatioPass.DESCRIPTOR, CompactPass.DESCRIPTOR, QkDimPass.DESCRIPTOR, HeadPass.DESCRIPTOR,
                ConvChannelsPass.DESCRIPTOR, ReallocatePass.DESCRIPTOR));
    }

    /** @return every registered pass, in registration order */
    public List<PassDescriptor> all() {
        return List.copyOf(byId.values());
    }

    /**
     * @param id a pass id
     * @return its descriptor
     * @throws IllegalArgumentException naming the known ids when there is none
     */
    public PassDescriptor get(String id) {
        PassDescriptor d = byId.get(id);
        if (d == null) {
            throw new IllegalArgumentException("no pass '" + id + "'; known passes: " + String.join(", ", byId.keySet()));
        }
        return d;
    }

    /**
     * @return the ids of the lossless passes, in order: the default pipeline of {@code slimnx optimize}.
     *     NOTE: {@code compact} is lossless but left out: value names are what a person reading an
     *     optimized model finds their way by; {@code slimnx quantize} applies it to its deployable output.
     */
    public List<String> losslessIds() {
        List<String> ids = new ArrayList<>();
        for (PassDescriptor d : byId.values()) {
            if (d.lossless() && !d.id().equals(CompactPass.ID)) {
                ids.add(d.id());
            }
        }
        return ids;
    }

    /**
     * @param ids pass ids, in pipeline order
     * @param options per pass id, option values by name; a pass not listed takes its defaults
     * @return the configured passes
     * @throws IllegalArgumentException for an unknown id or option, or options for a pass not in
     *     {@code ids}
     */
    public List<Pass> pipeline(List<String> ids, Map<String, Map<String, String>> options) {
        for (String id : options.keySet()) {
            get(id);
            if (!ids.contains(id)) {
                throw new IllegalArgumentException("options given for pass " + id + ", which is not in the pipeline");
            }
        }
        List<Pass> passes = new ArrayList<>();
        for (String id : ids) {
            passes.add(get(id).create(options.getOrDefault(id, Map.of())));
        }
        return passes;
    }
}
