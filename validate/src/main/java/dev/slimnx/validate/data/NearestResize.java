package dev.slimnx.validate.data;

/**
 * Nearest-neighbour resizing with the integer index rule of the reference data sets: output index
 * {@code o} of {@code out} reads input index {@code ((2o + 1) · in) / (2 · out)} (integer division),
 * the centre of the output cell mapped back onto the input.
 */
public final class NearestResize {
    private NearestResize() {
    }

    /**
     * @param out output size
     * @param in input size
     * @return the source index of every output index
     */
    public static int[] indices(int out, int in) {
        int[] idx = new int[out];
        for (int o = 0; o < out; o++) {
            idx[o] = (2 * o + 1) * in / (2 * out);
        }
        return idx;
    }
}
