package dev.slimnx.graph.schema;

import static dev.slimnx.graph.schema.SchemaNames.ML;
import static dev.slimnx.graph.schema.SchemaNames.N;
import static dev.slimnx.graph.schema.SchemaNames.TRAINING;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The ONNX operators slimnx knows, one constant per operator: op type, domain, the opset versions
 * at which the operator changed, and for each change its input/output arity and required
 * attributes.
 *
 * <p>Why it exists: the {@linkplain dev.slimnx.graph.check.GraphChecker checker} needs arity and
 * required attributes to reject a malformed node before ONNX Runtime does (with a message that
 * names the node), and needs the since-versions to tell whether an op exists at the opset a model
 * imports: an op is available at opset {@code v} when one of its since-versions is {@code <= v} and
 * it was not removed at or before {@code v}. Passes use the same table to decide which version of
 * an op they may emit.
 *
 * <p>NOTE: the table covers the default domain up to opset {@value #LATEST_ONNX_OPSET} (ONNX 1.20),
 * {@code ai.onnx.ml} and {@code ai.onnx.preview.training}. Versions up to 17 follow the ONNX 1.12
 * operator definitions; later ones follow the ONNX changelog and release notes. Where a later
 * version changed only type constraints, the arity of the previous version carries over.
 * {@link #VARIADIC} ({@code N} in the table) marks a variadic maximum.
 */
public enum OpSchema {
    ABS("Abs", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    ACOS("Acos", since(7, 22), sig(7, 1, 1, 1, 1)),
    ACOSH("Acosh", since(9, 22), sig(9, 1, 1, 1, 1)),
    ADD("Add", since(1, 6, 7, 13, 14), sig(1, 2, 2, 1, 1)),
    AFFINE_GRID("AffineGrid", since(20), sig(20, 2, 2, 1, 1)),
    AND("And", since(1, 7), sig(1, 2, 2, 1, 1)),
    ARG_MAX("ArgMax", since(1, 11, 12, 13), sig(1, 1, 1, 1, 1)),
    ARG_MIN("ArgMin", since(1, 11, 12, 13), sig(1, 1, 1, 1, 1)),
    ASIN("Asin", since(7, 22), sig(7, 1, 1, 1, 1)),
    ASINH("Asinh", since(9, 22), sig(9, 1, 1, 1, 1)),
    ATAN("Atan", since(7, 22), sig(7, 1, 1, 1, 1)),
    ATANH("Atanh", since(9, 22), sig(9, 1, 1, 1, 1)),
    ATTENTION("Attention", since(23, 24), sig(23, 3, 6, 1, 4), sig(24, 3, 7, 1, 4)),
    AVERAGE_POOL("AveragePool", since(1, 7, 10, 11, 19, 22), sig(1, 1, 1, 1, 1, "kernel_shape")),
    BATCH_NORMALIZATION("BatchNormalization", since(1, 6, 7, 9, 14, 15), sig(1, 5, 5, 1, 5, "consumed_inputs"), sig(6, 5, 5, 1, 5), sig(14, 5, 5, 1, 3)),
    BERNOULLI("Bernoulli", since(15, 22), sig(15, 1, 1, 1, 1)),
    BIT_SHIFT("BitShift", since(11), sig(11, 2, 2, 1, 1, "direction")),
    BITWISE_AND("BitwiseAnd", since(18), sig(18, 2, 2, 1, 1)),
    BITWISE_NOT("BitwiseNot", since(18), sig(18, 1, 1, 1, 1)),
    BITWISE_OR("BitwiseOr", since(18), sig(18, 2, 2, 1, 1)),
    BITWISE_XOR("BitwiseXor", since(18), sig(18, 2, 2, 1, 1)),
    BLACKMAN_WINDOW("BlackmanWindow", since(17), sig(17, 1, 1, 1, 1)),
    CAST("Cast", since(1, 6, 9, 13, 19, 21, 23, 24, 25), sig(1, 1, 1, 1, 1, "to")),
    CAST_LIKE("CastLike", since(15, 19, 21, 23, 24, 25), sig(15, 2, 2, 1, 1)),
    CEIL("Ceil", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    CELU("Celu", since(12), sig(12, 1, 1, 1, 1)),
    CENTER_CROP_PAD("CenterCropPad", since(18), sig(18, 2, 2, 1, 1)),
    CLIP("Clip", since(1, 6, 11, 12, 13), sig(1, 1, 1, 1, 1), sig(11, 1, 3, 1, 1)),
    COL2IM("Col2Im", since(18), sig(18, 3, 3, 1, 1)),
    COMPRESS("Compress", since(9, 11), sig(9, 2, 2, 1, 1)),
    CONCAT("Concat", since(1, 4, 11, 13), sig(1, 1, N, 1, 1), sig(4, 1, N, 1, 1, "axis")),
    CONCAT_FROM_SEQUENCE("ConcatFromSequence", since(11), sig(11, 1, 1, 1, 1, "axis")),
    CONSTANT("Constant", since(1, 9, 11, 12, 13, 19, 21, 23, 24, 25), sig(1, 0, 0, 1, 1, "value"), sig(11, 0, 0, 1, 1)),
    CONSTANT_OF_SHAPE("ConstantOfShape", since(9, 20, 21, 23, 24, 25), sig(9, 1, 1, 1, 1)),
    CONV("Conv", since(1, 11, 22), sig(1, 2, 3, 1, 1)),
    CONV_INTEGER("ConvInteger", since(10), sig(10, 2, 4, 1, 1)),
    CONV_TRANSPOSE("ConvTranspose", since(1, 11, 22), sig(1, 2, 3, 1, 1)),
    COS("Cos", since(7, 22), sig(7, 1, 1, 1, 1)),
    COSH("Cosh", since(9, 22), sig(9, 1, 1, 1, 1)),
    CUM_SUM("CumSum", since(11, 14), sig(11, 2, 2, 1, 1)),
    DFT("DFT", since(17, 20), sig(17, 1, 2, 1, 1), sig(20, 1, 3, 1, 1)),
    DEFORM_CONV("DeformConv", since(19, 22), sig(19, 3, 5, 1, 1)),
    DEPTH_TO_SPACE("DepthToSpace", since(1, 11, 13), sig(1, 1, 1, 1, 1, "blocksize")),
    DEQUANTIZE_LINEAR("DequantizeLinear", since(10, 13, 19, 21, 23, 24, 25), sig(10, 2, 3, 1, 1)),
    DET("Det", since(11, 22), sig(11, 1, 1, 1, 1)),
    DIV("Div", since(1, 6, 7, 13, 14), sig(1, 2, 2, 1, 1)),
    DROPOUT("Dropout", since(1, 6, 7, 10, 12, 13, 22), sig(1, 1, 1, 1, 2), sig(12, 1, 3, 1, 2)),
    DYNAMIC_QUANTIZE_LINEAR("DynamicQuantizeLinear", since(11), sig(11, 1, 1, 3, 3)),
    EINSUM("Einsum", since(12), sig(12, 1, N, 1, 1, "equation")),
    ELU("Elu", since(1, 6, 22), sig(1, 1, 1, 1, 1)),
    EQUAL("Equal", since(1, 7, 11, 13, 19), sig(1, 2, 2, 1, 1)),
    ERF("Erf", since(9, 13), sig(9, 1, 1, 1, 1)),
    EXP("Exp", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    EXPAND("Expand", since(8, 13), sig(8, 2, 2, 1, 1)),
    EYE_LIKE("EyeLike", since(9, 22), sig(9, 1, 1, 1, 1)),
    FLATTEN("Flatten", since(1, 9, 11, 13, 21, 23, 24, 25), sig(1, 1, 1, 1, 1)),
    FLOOR("Floor", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    GRU("GRU", since(1, 3, 7, 14, 22), sig(1, 3, 6, 2, 2), sig(3, 3, 6, 0, 2)),
    GATHER("Gather", since(1, 11, 13), sig(1, 2, 2, 1, 1)),
    GATHER_ELEMENTS("GatherElements", since(11, 13), sig(11, 2, 2, 1, 1)),
    GATHER_ND("GatherND", since(11, 12, 13), sig(11, 2, 2, 1, 1)),
    GELU("Gelu", since(20), sig(20, 1, 1, 1, 1)),
    GEMM("Gemm", since(1, 6, 7, 9, 11, 13), sig(1, 3, 3, 1, 1), sig(11, 2, 3, 1, 1)),
    GLOBAL_AVERAGE_POOL("GlobalAveragePool", since(1, 22), sig(1, 1, 1, 1, 1)),
    GLOBAL_LP_POOL("GlobalLpPool", since(1, 2, 22), sig(1, 1, 1, 1, 1)),
    GLOBAL_MAX_POOL("GlobalMaxPool", since(1, 22), sig(1, 1, 1, 1, 1)),
    GREATER("Greater", since(1, 7, 9, 13), sig(1, 2, 2, 1, 1)),
    GREATER_OR_EQUAL("GreaterOrEqual", since(12, 16), sig(12, 2, 2, 1, 1)),
    GRID_SAMPLE("GridSample", since(16, 20), sig(16, 2, 2, 1, 1)),
    GROUP_NORMALIZATION("GroupNormalization", since(18, 21), sig(18, 3, 3, 1, 1, "num_groups")),
    HAMMING_WINDOW("HammingWindow", since(17), sig(17, 1, 1, 1, 1)),
    HANN_WINDOW("HannWindow", since(17), sig(17, 1, 1, 1, 1)),
    HARD_SIGMOID("HardSigmoid", since(1, 6, 22), sig(1, 1, 1, 1, 1)),
    HARD_SWISH("HardSwish", since(14, 22), sig(14, 1, 1, 1, 1)),
    HARDMAX("Hardmax", since(1, 11, 13), sig(1, 1, 1, 1, 1)),
    IDENTITY("Identity", since(1, 13, 14, 16, 19, 21, 23, 24, 25), sig(1, 1, 1, 1, 1)),
    IF("If", since(1, 11, 13, 16, 19, 21, 23, 24, 25), sig(1, 1, 1, 1, N, "else_branch", "then_branch")),
    IMAGE_DECODER("ImageDecoder", since(20), sig(20, 1, 1, 1, 1)),
    INSTANCE_NORMALIZATION("InstanceNormalization", since(1, 6, 22), sig(1, 3, 3, 1, 1)),
    IS_INF("IsInf", since(10, 20), sig(10, 1, 1, 1, 1)),
    IS_NAN("IsNaN", since(9, 13, 20), sig(9, 1, 1, 1, 1)),
    LRN("LRN", since(1, 13), sig(1, 1, 1, 1, 1, "size")),
    LSTM("LSTM", since(1, 7, 14, 22), sig(1, 3, 8, 0, 3)),
    LAYER_NORMALIZATION("LayerNormalization", since(17), sig(17, 2, 3, 1, 3)),
    LEAKY_RELU("LeakyRelu", since(1, 6, 16), sig(1, 1, 1, 1, 1)),
    LESS("Less", since(1, 7, 9, 13), sig(1, 2, 2, 1, 1)),
    LESS_OR_EQUAL("LessOrEqual", since(12, 16), sig(12, 2, 2, 1, 1)),
    LOG("Log", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    LOG_SOFTMAX("LogSoftmax", since(1, 11, 13), sig(1, 1, 1, 1, 1)),
    LOOP("Loop", since(1, 11, 13, 16, 19, 21, 23, 24, 25), sig(1, 3, N, 1, N, "body"), sig(11, 2, N, 1, N, "body")),
    LP_NORMALIZATION("LpNormalization", since(1, 22), sig(1, 1, 1, 1, 1)),
    LP_POOL("LpPool", since(1, 2, 11, 18, 22), sig(1, 1, 1, 1, 1), sig(2, 1, 1, 1, 1, "kernel_shape")),
    MAT_MUL("MatMul", since(1, 9, 13), sig(1, 2, 2, 1, 1)),
    MAT_MUL_INTEGER("MatMulInteger", since(10), sig(10, 2, 4, 1, 1)),
    MAX("Max", since(1, 6, 8, 12, 13), sig(1, 1, N, 1, 1)),
    MAX_POOL("MaxPool", since(1, 8, 10, 11, 12, 22), sig(1, 1, 1, 1, 1, "kernel_shape"), sig(8, 1, 1, 1, 2, "kernel_shape")),
    MAX_ROI_POOL("MaxRoiPool", since(1, 22), sig(1, 2, 2, 1, 1, "pooled_shape")),
    MAX_UNPOOL("MaxUnpool", since(9, 11, 22), sig(9, 2, 3, 1, 1, "kernel_shape")),
    MEAN("Mean", since(1, 6, 8, 13), sig(1, 1, N, 1, 1)),
    MEAN_VARIANCE_NORMALIZATION("MeanVarianceNormalization", since(9, 13), sig(9, 1, 1, 1, 1)),
    MEL_WEIGHT_MATRIX("MelWeightMatrix", since(17), sig(17, 5, 5, 1, 1)),
    MIN("Min", since(1, 6, 8, 12, 13), sig(1, 1, N, 1, 1)),
    MISH("Mish", since(18, 22), sig(18, 1, 1, 1, 1)),
    MOD("Mod", since(10, 13), sig(10, 2, 2, 1, 1)),
    MUL("Mul", since(1, 6, 7, 13, 14), sig(1, 2, 2, 1, 1)),
    MULTINOMIAL("Multinomial", since(7, 22), sig(7, 1, 1, 1, 1)),
    NEG("Neg", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    NEGATIVE_LOG_LIKELIHOOD_LOSS("NegativeLogLikelihoodLoss", since(12, 13, 22), sig(12, 2, 3, 1, 1)),
    NON_MAX_SUPPRESSION("NonMaxSuppression", since(10, 11), sig(10, 2, 5, 1, 1)),
    NON_ZERO("NonZero", since(9, 13), sig(9, 1, 1, 1, 1)),
    NOT("Not", since(1), sig(1, 1, 1, 1, 1)),
    ONE_HOT("OneHot", since(9, 11), sig(9, 3, 3, 1, 1)),
    OPTIONAL("Optional", since(15), sig(15, 0, 1, 1, 1)),
    OPTIONAL_GET_ELEMENT("OptionalGetElement", since(15, 18), sig(15, 1, 1, 1, 1)),
    OPTIONAL_HAS_ELEMENT("OptionalHasElement", since(15, 18), sig(15, 1, 1, 1, 1)),
    OR("Or", since(1, 7), sig(1, 2, 2, 1, 1)),
    P_RELU("PRelu", since(1, 6, 7, 9, 16), sig(1, 2, 2, 1, 1)),
    PAD("Pad", since(1, 2, 11, 13, 18, 19, 21, 23, 24, 25), sig(1, 1, 1, 1, 1, "paddings"), sig(2, 1, 1, 1, 1, "pads"), sig(11, 2, 3, 1, 1), sig(18, 2, 4, 1, 1)),
    POW("Pow", since(1, 7, 12, 13, 15), sig(1, 2, 2, 1, 1)),
    Q_LINEAR_CONV("QLinearConv", since(10), sig(10, 8, 9, 1, 1)),
    Q_LINEAR_MAT_MUL("QLinearMatMul", since(10, 21), sig(10, 8, 8, 1, 1)),
    QUANTIZE_LINEAR("QuantizeLinear", since(10, 13, 19, 21, 23, 24, 25), sig(10, 2, 3, 1, 1)),
    RMS_NORMALIZATION("RMSNormalization", since(23), sig(23, 2, 2, 1, 1)),
    RNN("RNN", since(1, 7, 14, 22), sig(1, 3, 6, 0, 2)),
    RANDOM_NORMAL("RandomNormal", since(1, 22), sig(1, 0, 0, 1, 1, "shape")),
    RANDOM_NORMAL_LIKE("RandomNormalLike", since(1, 22), sig(1, 1, 1, 1, 1)),
    RANDOM_UNIFORM("RandomUniform", since(1, 22), sig(1, 0, 0, 1, 1, "shape")),
    RANDOM_UNIFORM_LIKE("RandomUniformLike", since(1, 22), sig(1, 1, 1, 1, 1)),
    RANGE("Range", since(11), sig(11, 3, 3, 1, 1)),
    RECIPROCAL("Reciprocal", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    REDUCE_L1("ReduceL1", since(1, 11, 13, 18), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REDUCE_L2("ReduceL2", since(1, 11, 13, 18), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REDUCE_LOG_SUM("ReduceLogSum", since(1, 11, 13, 18), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REDUCE_LOG_SUM_EXP("ReduceLogSumExp", since(1, 11, 13, 18), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REDUCE_MAX("ReduceMax", since(1, 11, 12, 13, 18, 20), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REDUCE_MEAN("ReduceMean", since(1, 11, 13, 18), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REDUCE_MIN("ReduceMin", since(1, 11, 12, 13, 18, 20), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REDUCE_PROD("ReduceProd", since(1, 11, 13, 18), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REDUCE_SUM("ReduceSum", since(1, 11, 13), sig(1, 1, 1, 1, 1), sig(13, 1, 2, 1, 1)),
    REDUCE_SUM_SQUARE("ReduceSumSquare", since(1, 11, 13, 18), sig(1, 1, 1, 1, 1), sig(18, 1, 2, 1, 1)),
    REGEX_FULL_MATCH("RegexFullMatch", since(20), sig(20, 1, 1, 1, 1)),
    RELU("Relu", since(1, 6, 13, 14), sig(1, 1, 1, 1, 1)),
    RESHAPE("Reshape", since(1, 5, 13, 14, 19, 21, 23, 24, 25), sig(1, 1, 1, 1, 1), sig(5, 2, 2, 1, 1)),
    RESIZE("Resize", since(10, 11, 13, 18, 19), sig(10, 2, 2, 1, 1), sig(11, 3, 4, 1, 1), sig(13, 1, 4, 1, 1)),
    REVERSE_SEQUENCE("ReverseSequence", since(10), sig(10, 2, 2, 1, 1)),
    ROI_ALIGN("RoiAlign", since(10, 16, 22), sig(10, 3, 3, 1, 1)),
    ROTARY_EMBEDDING("RotaryEmbedding", since(23), sig(23, 3, 4, 1, 1)),
    ROUND("Round", since(11, 22), sig(11, 1, 1, 1, 1)),
    STFT("STFT", since(17), sig(17, 2, 4, 1, 1)),
    SCAN("Scan", since(8, 9, 11, 16, 19, 21, 23, 24, 25), sig(8, 2, N, 1, N, "body", "num_scan_inputs"), sig(9, 1, N, 1, N, "body", "num_scan_inputs")),
    SCATTER("Scatter", since(9), sig(9, 3, 3, 1, 1), removedIn(11)),
    SCATTER_ELEMENTS("ScatterElements", since(11, 13, 16, 18), sig(11, 3, 3, 1, 1)),
    SCATTER_ND("ScatterND", since(11, 13, 16, 18), sig(11, 3, 3, 1, 1)),
    SELU("Selu", since(1, 6, 22), sig(1, 1, 1, 1, 1)),
    SEQUENCE_AT("SequenceAt", since(11), sig(11, 2, 2, 1, 1)),
    SEQUENCE_CONSTRUCT("SequenceConstruct", since(11), sig(11, 1, N, 1, 1)),
    SEQUENCE_EMPTY("SequenceEmpty", since(11), sig(11, 0, 0, 1, 1)),
    SEQUENCE_ERASE("SequenceErase", since(11), sig(11, 1, 2, 1, 1)),
    SEQUENCE_INSERT("SequenceInsert", since(11), sig(11, 2, 3, 1, 1)),
    SEQUENCE_LENGTH("SequenceLength", since(11), sig(11, 1, 1, 1, 1)),
    SEQUENCE_MAP("SequenceMap", since(17), sig(17, 1, N, 1, N, "body")),
    SHAPE("Shape", since(1, 13, 15, 19, 21, 23, 24, 25), sig(1, 1, 1, 1, 1)),
    SHRINK("Shrink", since(9), sig(9, 1, 1, 1, 1)),
    SIGMOID("Sigmoid", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    SIGN("Sign", since(9, 13), sig(9, 1, 1, 1, 1)),
    SIN("Sin", since(7, 22), sig(7, 1, 1, 1, 1)),
    SINH("Sinh", since(9, 22), sig(9, 1, 1, 1, 1)),
    SIZE("Size", since(1, 13, 19, 21, 23, 24, 25), sig(1, 1, 1, 1, 1)),
    SLICE("Slice", since(1, 10, 11, 13), sig(1, 1, 1, 1, 1, "ends", "starts"), sig(10, 3, 5, 1, 1)),
    SOFTMAX("Softmax", since(1, 11, 13), sig(1, 1, 1, 1, 1)),
    SOFTMAX_CROSS_ENTROPY_LOSS("SoftmaxCrossEntropyLoss", since(12, 13), sig(12, 2, 3, 1, 2)),
    SOFTPLUS("Softplus", since(1, 22), sig(1, 1, 1, 1, 1)),
    SOFTSIGN("Softsign", since(1, 22), sig(1, 1, 1, 1, 1)),
    SPACE_TO_DEPTH("SpaceToDepth", since(1, 13), sig(1, 1, 1, 1, 1, "blocksize")),
    SPLIT("Split", since(1, 2, 11, 13, 18), sig(1, 1, 2, 1, N), sig(2, 1, 1, 1, N), sig(13, 1, 2, 1, N)),
    SPLIT_TO_SEQUENCE("SplitToSequence", since(11, 24), sig(11, 1, 2, 1, 1)),
    SQRT("Sqrt", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    SQUEEZE("Squeeze", since(1, 11, 13, 21, 23, 24, 25), sig(1, 1, 1, 1, 1), sig(13, 1, 2, 1, 1)),
    STRING_CONCAT("StringConcat", since(20), sig(20, 2, 2, 1, 1)),
    STRING_NORMALIZER("StringNormalizer", since(10), sig(10, 1, 1, 1, 1)),
    STRING_SPLIT("StringSplit", since(20), sig(20, 1, 1, 2, 2)),
    SUB("Sub", since(1, 6, 7, 13, 14), sig(1, 2, 2, 1, 1)),
    SUM("Sum", since(1, 6, 8, 13), sig(1, 1, N, 1, 1)),
    SWISH("Swish", since(24), sig(24, 1, 1, 1, 1)),
    TAN("Tan", since(7, 22), sig(7, 1, 1, 1, 1)),
    TANH("Tanh", since(1, 6, 13), sig(1, 1, 1, 1, 1)),
    TENSOR_SCATTER("TensorScatter", since(24), sig(24, 2, 3, 1, 1)),
    TF_IDF_VECTORIZER("TfIdfVectorizer", since(9), sig(9, 1, 1, 1, 1, "max_gram_length", "max_skip_count", "min_gram_length", "mode", "ngram_counts", "ngram_indexes")),
    THRESHOLDED_RELU("ThresholdedRelu", since(10, 22), sig(10, 1, 1, 1, 1)),
    TILE("Tile", since(1, 6, 13), sig(1, 3, 3, 1, 1), sig(6, 2, 2, 1, 1)),
    TOP_K("TopK", since(1, 10, 11, 24), sig(1, 1, 1, 2, 2, "k"), sig(10, 2, 2, 2, 2)),
    TRANSPOSE("Transpose", since(1, 13, 21, 23, 24, 25), sig(1, 1, 1, 1, 1)),
    TRILU("Trilu", since(14), sig(14, 1, 2, 1, 1)),
    UNIQUE("Unique", since(11), sig(11, 1, 1, 1, 4)),
    UNSQUEEZE("Unsqueeze", since(1, 11, 13, 21, 23, 24, 25), sig(1, 1, 1, 1, 1, "axes"), sig(13, 2, 2, 1, 1)),
    UPSAMPLE("Upsample", since(1, 7, 9), sig(1, 1, 1, 1, 1, "height_scale", "width_scale"), sig(7, 1, 1, 1, 1, "scales"), sig(9, 2, 2, 1, 1), removedIn(10)),
    WHERE("Where", since(9, 16), sig(9, 3, 3, 1, 1)),
    XOR("Xor", since(1, 7), sig(1, 2, 2, 1, 1)),
    ML_ARRAY_FEATURE_EXTRACTOR(ML, "ArrayFeatureExtractor", since(1), sig(1, 2, 2, 1, 1)),
    ML_BINARIZER(ML, "Binarizer", since(1), sig(1, 1, 1, 1, 1)),
    ML_CAST_MAP(ML, "CastMap", since(1), sig(1, 1, 1, 1, 1)),
    ML_CATEGORY_MAPPER(ML, "CategoryMapper", since(1), sig(1, 1, 1, 1, 1)),
    ML_DICT_VECTORIZER(ML, "DictVectorizer", since(1), sig(1, 1, 1, 1, 1)),
    ML_FEATURE_VECTORIZER(ML, "FeatureVectorizer", since(1), sig(1, 1, N, 1, 1)),
    ML_IMPUTER(ML, "Imputer", since(1), sig(1, 1, 1, 1, 1)),
    ML_LABEL_ENCODER(ML, "LabelEncoder", since(1, 2, 4), sig(1, 1, 1, 1, 1)),
    ML_LINEAR_CLASSIFIER(ML, "LinearClassifier", since(1), sig(1, 1, 1, 2, 2, "coefficients")),
    ML_LINEAR_REGRESSOR(ML, "LinearRegressor", since(1), sig(1, 1, 1, 1, 1)),
    ML_NORMALIZER(ML, "Normalizer", since(1), sig(1, 1, 1, 1, 1)),
    ML_ONE_HOT_ENCODER(ML, "OneHotEncoder", since(1), sig(1, 1, 1, 1, 1)),
    ML_SVM_CLASSIFIER(ML, "SVMClassifier", since(1), sig(1, 1, 1, 2, 2)),
    ML_SVM_REGRESSOR(ML, "SVMRegressor", since(1), sig(1, 1, 1, 1, 1)),
    ML_SCALER(ML, "Scaler", since(1), sig(1, 1, 1, 1, 1)),
    ML_TREE_ENSEMBLE(ML, "TreeEnsemble", since(5), sig(5, 1, 1, 1, 1)),
    ML_TREE_ENSEMBLE_CLASSIFIER(ML, "TreeEnsembleClassifier", since(1, 3), sig(1, 1, 1, 2, 2)),
    ML_TREE_ENSEMBLE_REGRESSOR(ML, "TreeEnsembleRegressor", since(1, 3), sig(1, 1, 1, 1, 1)),
    ML_ZIP_MAP(ML, "ZipMap", since(1), sig(1, 1, 1, 1, 1)),
    TRAINING_ADAGRAD(TRAINING, "Adagrad", since(1), sig(1, 3, N, 1, N)),
    TRAINING_ADAM(TRAINING, "Adam", since(1), sig(1, 3, N, 1, N)),
    TRAINING_GRADIENT(TRAINING, "Gradient", since(1), sig(1, 1, N, 1, N, "xs", "y")),
    TRAINING_MOMENTUM(TRAINING, "Momentum", since(1), sig(1, 3, N, 1, N, "alpha", "beta", "mode", "norm_coefficient"));

    /** The newest default-domain opset this table describes. */
    public static final int LATEST_ONNX_OPSET = 25;

    /** Domain name of the classical-ML operators. */
    public static final String ML_DOMAIN = ML;

    /** Domain name of the training operators. */
    public static final String TRAINING_DOMAIN = TRAINING;

    /** Unbounded arity (a variadic input or output). */
    public static final int VARIADIC = N;

    private static final Map<String, OpSchema> BY_KEY = new HashMap<>();

    static {
        for (OpSchema s : values()) {
            BY_KEY.put(key(s.domain, s.opType), s);
        }
    }

    private final String domain;
    private final String opType;
    private final int[] sinceVersions;
    private final List<Signature> signatures;
    private final int removedIn;

    OpSchema(String opType, int[] since, Signature... signatures) {
        this("", opType, since, signatures);
    }

    OpSchema(String domain, String opType, int[] since, Signature... signatures) {
        this.domain = domain;
        this.opType = opType;
        this.sinceVersions = since;
        List<Signature> sigs = new ArrayList<>();
        int removed = 0;
        for (Signature s : signatures) {
            if (s.removed()) {
                removed = s.since();
            } else {
                sigs.add(s);
            }
        }
        this.signatures = List.copyOf(sigs);
        this.removedIn = removed;
    }

    /**
     * The shape of one version of an operator.
     *
     * @param since the opset version from which this signature holds
     * @param minInputs fewest inputs (omitted optional inputs at the end do not count)
     * @param maxInputs most inputs, {@link #VARIADIC} when variadic
     * @param minOutputs fewest outputs
     * @param maxOutputs most outputs, {@link #VARIADIC} when variadic
     * @param requiredAttributes attributes a node must have
     * @param removed true for the marker that says the op is gone from {@code since} on
     */
    public record Signature(int since, int minInputs, int maxInputs, int minOutputs, int maxOutputs,
                            List<String> requiredAttributes, boolean removed) {
        public Signature {
            requiredAttributes = List.copyOf(requiredAttributes);
        }
    }

    private static int[] since(int... versions) {
        return versions;
    }

    private static Signature sig(int since, int minIn, int maxIn, int minOut, int maxOut, String... required) {
        return new Signature(since, minIn, maxIn, minOut, maxOut, Arrays.asList(required), false);
    }

    private static Signature removedIn(int version) {
        return new Signature(version, 0, 0, 0, 0, List.of(), true);
    }

    private static String key(String domain, String opType) {
        return normalizeDomain(domain) + "::" + opType;
    }

    private static String normalizeDomain(String domain) {
        return domain.equals("ai.onnx") ? "" : domain;
    }

    /**
     * @param domain node domain; {@code ""} and {@code ai.onnx} are the same
     * @param opType op type
     * @return the schema, or empty when slimnx does not know the op
     */
    public static Optional<OpSchema> find(String domain, String opType) {
        return Optional.ofNullable(BY_KEY.get(key(domain, opType)));
    }

    /** @return the op type, as nodes spell it */
    public String opType() {
        return opType;
    }

    /** @return the domain; empty for the default ONNX domain */
    public String domain() {
        return domain;
    }

    /** @return the opset versions at which this op was introduced or changed, ascending */
    public int[] sinceVersions() {
        return sinceVersions.clone();
    }

    /** @return the opset version from which the op no longer exists, or 0 when it still does */
    public int removedIn() {
        return removedIn;
    }

    /**
     * @param opsetVersion the version of this op's domain a model imports
     * @return the since-version of the op that applies at that opset, or empty when the op does
     *     not exist there (introduced later, or removed)
     */
    public Optional<Integer> versionAt(long opsetVersion) {
        if (removedIn != 0 && opsetVersion >= removedIn) {
            return Optional.empty();
        }
        Integer best = null;
        for (int v : sinceVersions) {
            if (v <= opsetVersion) {
                best = v;
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * @param opsetVersion the imported version of this op's domain
     * @return the signature in force at that opset, or empty when the op does not exist there
     */
    public Optional<Signature> signatureAt(long opsetVersion) {
        if (versionAt(opsetVersion).isEmpty()) {
            return Optional.empty();
        }
        Signature best = null;
        for (Signature s : signatures) {
            if (s.since() <= opsetVersion) {
                best = s;
            }
        }
        return Optional.ofNullable(best);
    }

    /** @return the signatures, one per change of arity or required attributes, ascending */
    public List<Signature> signatures() {
        return signatures;
    }
}
