package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** FFN hidden layers are recognised by their groups and the residual Add, not by names. */
class FfnFinderTest {

    @Test
    void findsAnMlpWithItsWidthsAndBothLinearLayers() {
        List<FfnLayer> layers = FfnFinder.find(PruneTesting.mlp());
        assertEquals(1, layers.size());
        FfnLayer l = layers.get(0);
        assertEquals("fc1", l.name());
        assertEquals(4, l.inputWidth());
        assertEquals(8, l.hiddenWidth());
        assertEquals(2.0, l.ratio());
        assertEquals(List.of("fc1"), l.expand().stream().map(Node::name).toList());
        assertEquals(List.of("fc2"), l.reduce().stream().map(Node::name).toList());
        assertTrue(l.isPrunable());
    }

    @Test
    void findsAConvFfnThroughItsBatchNorms() {
        List<FfnLayer> layers = FfnFinder.find(PruneTesting.convFfn());
        assertEquals(1, layers.size());
        assertEquals("pw1", layers.get(0).name());
        assertEquals(4, layers.get(0).inputWidth());
    }

    @Test
    void aHeadWithoutResidualAnAttentionBlockAndAnInvertedResidualAreNotFfns() {
        GraphBuilder b = new GraphBuilder(PruneTesting.OPSET, 5);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value h = b.node("Relu", b.node("MatMul", x, b.initializer(b.randomFloats("w1", 4, 8))).name("h1").value())
                .name("relu").value();
        Value o = b.node("MatMul", h, b.initializer(b.randomFloats("w2", 8, 4))).name("h2").value();
        b.output(b.node("Sigmoid", o).name("box").value(), DataType.FLOAT, "batch", 4);
        assertEquals(List.of(), FfnFinder.find(b.build()), "a box head feeds a Sigmoid, not the residual");
        assertEquals(List.of(), FfnFinder.find(PruneTesting.attention()));
        assertEquals(List.of(), FfnFinder.find(PruneTesting.depthwise()));
    }

    @Test
    void anFfnWhoseUnitsCannotBeFollowedIsReportedWithTheReason() {
        List<FfnLayer> layers = FfnFinder.find(ChannelDependenciesTest.mlpWith("com.example", "Swish"));
        assertEquals(1, layers.size());
        FfnLayer l = layers.get(0);
        assertFalse(l.isPrunable());
        assertEquals("no channel rule for com.example.Swish 'act' (domain com.example)", l.refusal());
        assertEquals(8, l.hiddenWidth());
    }

    @Test
    void aSharedMlpIsOneLayerWithTwoPaths() {
        GraphBuilder b = new GraphBuilder(PruneTesting.OPSET, 9);
        Value w1 = b.initializer(b.randomFloats("w1", 4, 8));
        Value w2 = b.initializer(b.randomFloats("w2", 8, 4));
        for (String in : new String[] {"x", "m"}) {
            Value x = b.input(in, DataType.FLOAT, "batch", 4);
            Value h = b.node("Relu", b.node("MatMul", x, w1).name(in + "_fc1").value()).name(in + "_relu").value();
            Value o = b.node("MatMul", h, w2).name(in + "_fc2").value();
            b.output(b.node("Add", x, o).name(in + "_residual").value(), DataType.FLOAT, "batch", 4);
        }
        List<FfnLayer> layers = FfnFinder.find(b.build());
        assertEquals(1, layers.size());
        assertEquals(List.of("x_fc1", "m_fc1"), layers.get(0).expand().stream().map(Node::name).toList());
        assertEquals(List.of("x_fc2", "m_fc2"), layers.get(0).reduce().stream().map(Node::name).toList());
    }
}
