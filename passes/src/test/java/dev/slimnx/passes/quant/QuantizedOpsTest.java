package dev.slimnx.passes.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.passes.PassRefusedException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class QuantizedOpsTest {
    private static Node node(String domain, String op) {
        return new Node(domain, op, List.of(), List.of(), List.of());
    }

    @Test
    void recognisesQuantizedOpsOfOnnxAndOnnxRuntime() {
        for (String op : List.of("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
                "ConvInteger", "QLinearConv", "QLinearMatMul")) {
            assertTrue(QuantizedOps.isQuantized(node("", op)), op);
        }
        for (String op : List.of("DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulNBits", "QGemm",
                "QLinearAdd", "QOrderedMatMul", "QAttention", "DequantizeLinear")) {
            assertTrue(QuantizedOps.isQuantized(node("com.microsoft", op)), op);
        }
        for (Node n : List.of(node("", "MatMul"), node("", "Cast"), node("", "Gemm"), node("com.microsoft", "Gelu"),
                node("custom.domain", "MatMulNBits"))) {
            assertFalse(QuantizedOps.isQuantized(n), n.domain() + ":" + n.opType());
        }
    }

    @Test
    void findsThemInsideSubgraphsAndRefusesTheModel() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value cond = b.input("cond", DataType.BOOL);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value scale = b.initializer(dev.slimnx.graph.tensor.Tensor.ofFloats("s", new long[0], 0.5f));
        Graph then = new Graph();
        then.setName("then");
        Value q = new Value("q");
        Value d = new Value("d");
        then.addNode(new Node("", "QuantizeLinear", List.of(x, scale), List.of(q), List.of()));
        then.addNode(new Node("", "DequantizeLinear", List.of(q, scale), List.of(d), List.of()));
        then.addOutput(d);
        Graph other = new Graph();
        other.setName("else");
        Value r = new Value("r");
        other.addNode(new Node("", "Relu", List.of(x), List.of(r), List.of()));
        other.addOutput(r);
        b.output(b.node("If", cond).attr(Attribute.ofGraph("then_branch", then))
                .attr(Attribute.ofGraph("else_branch", other)).value());
        Model model = b.build();

        assertEquals(Set.of("QuantizeLinear", "DequantizeLinear"), QuantizedOps.find(model));
        PassRefusedException e = assertThrows(PassRefusedException.class,
                () -> QuantizedOps.refuseQuantized("quantize-x", model));
        assertEquals("quantize-x: model is already quantized (has QuantizeLinear, DequantizeLinear nodes)",
                e.getMessage());
        assertEquals("quantize-x", e.passId());
    }

    @Test
    void namesAreReadFromCommaSeparatedText() {
        assertEquals(List.of("MatMul", "Gemm"), List.copyOf(QuantizedOps.names(" MatMul, Gemm ,, ")));
        assertEquals(Set.of(), QuantizedOps.names(""));
    }
}
