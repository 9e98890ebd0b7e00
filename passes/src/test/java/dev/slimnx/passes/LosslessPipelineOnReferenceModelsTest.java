package dev.slimnx.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.passes.testing.PassTesting;
import dev.slimnx.passes.testing.ReferenceInputs;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every reference model through the default lossless pipeline (what {@code slimnx optimize} runs):
 * outputs equal on real test inputs, signature and opset kept, dynamic dims still dynamic, no
 * BatchNormalization left, fewer nodes, and a second run finds nothing to do.
 */
class LosslessPipelineOnReferenceModelsTest {
    private static ReferenceModels registry;

    @BeforeAll
    static void locate() throws Exception {
        registry = ReferenceModels.locate();
    }

    static Stream<String> names() throws Exception {
        return ReferenceModels.locate().all().stream().map(ReferenceModel::name);
    }

    private static List<Pass> defaultPipeline() {
        PassRegistry passes = PassRegistry.standard();
        return passes.pipeline(passes.losslessIds(), Map.of());
    }

    @ParameterizedTest
    @MethodSource("names")
    void outputsStayEqualAndTheModelGetsSmaller(String name) throws Exception {
        ReferenceModel ref = registry.get(name);
        Model original = OnnxReader.read(ref.file());
        Model optimized = original.copy();
        PassManager.Outcome outcome = new PassManager(defaultPipeline(), PassManager.Options.untilFixedPoint().checked())
                .run(optimized, PassContext.defaults());

        assertTrue(outcome.changed(), "every reference model has Constant nodes or shape chains to fold");
        assertTrue(outcome.rounds() < 8, "reaches a fixed point within the round limit");
        assertEquals(0, ModelStats.of(optimized).opHistogram().getOrDefault("BatchNormalization", 0));
        assertTrue(optimized.graph().nodes().size() < original.graph().nodes().size());
        assertEquals(original.opsetImports(), optimized.opsetImports(), "opset kept");
        assertEquals(signature(original.graph().inputs()), signature(optimized.graph().inputs()));
        assertEquals(signature(original.graph().outputs()), signature(optimized.graph().outputs()),
                "output names, types and dynamic dims kept");
        PassTesting.assertSameOutputs(original, optimized, ReferenceInputs.feeds(registry, ref, 16),
                PassTesting.RTOL, PassTesting.ATOL);

        byte[] once = OnnxWriter.toBytes(optimized);
        PassManager.Outcome again = new PassManager(defaultPipeline(), PassManager.Options.untilFixedPoint())
                .run(optimized, PassContext.defaults());
        assertFalse(again.changed(), () -> "a second pipeline still changed: " + again.perPass());
        assertEquals(1, again.rounds());
        assertTrue(java.util.Arrays.equals(once, OnnxWriter.toBytes(optimized)));
    }

    /** Names with their types (shapes with symbolic dims) of graph inputs or outputs. */
    private static List<String> signature(List<Value> values) {
        return values.stream().map(v -> v.name() + ":" + v.type()).toList();
    }

    @ParameterizedTest
    @MethodSource("names")
    void dynamicDimsStayDynamic(String name) throws Exception {
        Model optimized = OnnxReader.read(registry.get(name).file());
        new PassManager(defaultPipeline(), PassManager.Options.untilFixedPoint()).run(optimized, PassContext.defaults());
        Set<String> symbols = Set.copyOf(ModelStats.of(optimized).dynamicDims().stream()
                .map(ModelStats.DynamicDim::symbol).toList());
        assertFalse(symbols.isEmpty(), "batch (or seq) is still a symbol");
        // a second batch size runs: nothing was specialised to the size the pipeline saw
        ReferenceModel ref = registry.get(name);
        if (ref.task() != ReferenceModel.Task.PACKED) {
            Model original = OnnxReader.read(ref.file());
            PassTesting.assertSameOutputs(original, optimized, ReferenceInputs.feeds(registry, ref, 3),
                    PassTesting.RTOL, PassTesting.ATOL);
        }
    }
}
