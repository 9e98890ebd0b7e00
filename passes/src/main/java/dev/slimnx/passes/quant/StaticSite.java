package dev.slimnx.passes.quant;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Tensor;
import java.util.List;

/**
 * One node static quantization rewrites, as {@link StaticSiteFinder} found it: what it reads and
 * where the quantized constants go. Nothing here depends on calibration.
 *
 * @param node the MatMul, Gemm or Conv
 * @param kind what the result counts it as
 * @param activations the float inputs that get a QuantizeLinear → DequantizeLinear pair, per tensor
 * @param weight the constant weight (input 1), or null for a MatMul of two activations
 * @param weightData its float values
 * @param weightAxis the output-channel axis of the weight: the axis of its per-channel scales
 * @param bias the constant bias (Conv input 2, Gemm C), or null
 * @param biasData its float values, flattened to one per output channel
 * @param output the float value that gets a pair so that ONNX Runtime can fuse the node into an
 *     integer kernel with an integer output (a Conv's output, or the output of the Relu that alone
 *     reads it), or null
 */
record StaticSite(Node node, Kind kind, List<Value> activations, Value weight, Tensor weightData, int weightAxis,
                  Value bias, float[] biasData, Value output) {

    /** What a site is, as counted in the pass result. */
    enum Kind {
        MATMUL("MatMul"),
        ACTIVATION_MATMUL("MatMul of activations"),
        GEMM("Gemm"),
        CONV("Conv");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        /** @return the name in the pass result */
        String label() {
            return label;
        }
    }
}
