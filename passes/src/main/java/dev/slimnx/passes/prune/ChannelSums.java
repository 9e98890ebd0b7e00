package dev.slimnx.passes.prune;

/**
 * Sums over the positions each channel owns in one member tensor: what magnitude and Taylor
 * importance add up per channel.
 */
final class ChannelSums {
    private ChannelSums() {
    }

    /**
     * @param m the member (its axis and map)
     * @param dims the tensor's dims
     * @param values the tensor's values, row-major
     * @param width channels in the group
     * @return per channel, the sum of {@code values} over the channel's positions
     */
    static double[] sum(ChannelMember m, long[] dims, double[] values, int width) {
        return sum(m, m.axis(), dims, values, width);
    }

    /**
     * @param m the member (its map)
     * @param perPosition sums over every axis but the member's, one per position along it
     * @param width channels in the group
     * @return per channel, the sum of {@code perPosition} over the channel's positions
     */
    static double[] sumOfPositions(ChannelMember m, double[] perPosition, int width) {
        return sum(m, 0, new long[] {perPosition.length}, perPosition, width);
    }

    private static double[] sum(ChannelMember m, int axis, long[] dims, double[] values, int width) {
        int length = (int) dims[axis];
        int[] channelOf = new int[length];
        java.util.Arrays.fill(channelOf, -1);
        for (int c = 0; c < width; c++) {
            for (int p : m.map().positionsOf(c)) {
                channelOf[p] = c;
            }
        }
        long inner = 1;
        for (int i = axis + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        double[] out = new double[width];
        for (int idx = 0; idx < values.length; idx++) {
            int c = channelOf[(int) ((idx / inner) % length)];
            if (c >= 0) {
                out[c] += values[idx];
            }
        }
        return out;
    }
}
