package dev.slimnx.graph.tensor;

/**
 * Decoding of the 8-bit and 4-bit floating-point formats ONNX defines. Each format is sign,
 * exponent and mantissa bits with a bias; they differ in how NaN, infinity and negative zero are
 * encoded (the "FN" formats have no infinity, the "UZ" formats use the negative-zero pattern as NaN).
 */
final class MiniFloat {
    private MiniFloat() {
    }

    static double decode(DataType type, int bits) {
        return switch (type) {
            case FLOAT8E4M3FN -> (bits & 0x7F) == 0x7F ? Double.NaN : generic(bits, 4, 3, 7);
            case FLOAT8E4M3FNUZ -> bits == 0x80 ? Double.NaN : generic(bits, 4, 3, 8);
            case FLOAT8E5M2 -> {
                int exp = (bits >> 2) & 0x1F;
                if (exp == 0x1F) {
                    yield (bits & 0x3) != 0 ? Double.NaN
                            : ((bits & 0x80) != 0 ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
                }
                yield generic(bits, 5, 2, 15);
            }
            case FLOAT8E5M2FNUZ -> bits == 0x80 ? Double.NaN : generic(bits, 5, 2, 16);
            case FLOAT8E8M0 -> bits == 0xFF ? Double.NaN : Math.pow(2, bits - 127);
            case FLOAT4E2M1 -> generic(bits, 2, 1, 1);
            default -> throw new IllegalArgumentException(type + " is not a mini float");
        };
    }

    private static double generic(int bits, int expBits, int manBits, int bias) {
        int sign = (bits >> (expBits + manBits)) & 1;
        int exp = (bits >> manBits) & ((1 << expBits) - 1);
        int man = bits & ((1 << manBits) - 1);
        double value = exp == 0
                ? man / (double) (1 << manBits) * Math.pow(2, 1 - bias)
                : (1 + man / (double) (1 << manBits)) * Math.pow(2, exp - bias);
        return sign == 1 ? -value : value;
    }
}
