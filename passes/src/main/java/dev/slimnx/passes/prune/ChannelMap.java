package dev.slimnx.passes.prune;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the channels of a group sit along one axis of one tensor. Channel {@code c} of a group of
 * width {@code C} covers, for every repeat {@code r} in {@code [0, repeats)}, the {@code block}
 * positions starting at {@code offset + r·period + c·block}.
 *
 * <p>The forms the handlers produce:
 * <ul>
 *   <li>identity {@code (0, 1, 1, 0)}: channel c is position c (a weight's output axis);</li>
 *   <li>offset {@code (o, 1, 1, 0)}: channel c is position o + c (a Concat input's channels in
 *       its output, a Split output's channels in its input);</li>
 *   <li>repeated {@code (0, 1, H, d)}: a per-head dimension of a flat {@code H·d} axis, the same
 *       position j in every head (Reshape out of heads);</li>
 *   <li>blocks {@code (0, d, 1, 0)}: whole heads of a flat {@code H·d} axis, channel h covering
 *       positions {@code [h·d, h·d + d)}; also a depthwise Conv with channel multiplier d.</li>
 * </ul>
 * Within one repeat the group's positions are contiguous ({@code [start, start + C·block)}), so
 * pruning keeps the order of everything around them and only rewrites that span.
 *
 * @param offset first position of channel 0 in repeat 0
 * @param block positions per channel and repeat, at least 1
 * @param repeats how many times the channel span repeats along the axis, at least 1
 * @param period distance between repeats; 0 when {@code repeats} is 1
 */
public record ChannelMap(int offset, int block, int repeats, int period) {
    private static final ChannelMap IDENTITY = new ChannelMap(0, 1, 1, 0);

    /** @throws IllegalArgumentException for a negative offset, an empty block or repeat, or a bad period */
    public ChannelMap {
        if (offset < 0 || block < 1 || repeats < 1 || period < 0) {
            throw new IllegalArgumentException("bad channel map offset " + offset + ", block " + block + ", repeats "
                    + repeats + ", period " + period);
        }
        if (repeats == 1) {
            period = 0;
        }
    }

    /** @return channel c at position c */
    public static ChannelMap identity() {
        return IDENTITY;
    }

    /**
     * @param offset first position
     * @return channel c at position {@code offset + c}
     */
    public static ChannelMap offset(int offset) {
        return new ChannelMap(offset, 1, 1, 0);
    }

    /** @return true for the identity map */
    public boolean isIdentity() {
        return equals(IDENTITY);
    }

    /**
     * @param delta added to the offset (negative moves the map towards 0)
     * @return this map shifted
     * @throws IllegalArgumentException when the offset would become negative
     */
    public ChannelMap shift(int delta) {
        return new ChannelMap(offset + delta, block, repeats, period);
    }

    /**
     * @param width channels in the group
     * @return positions one repeat of the group covers: {@code width·block}
     */
    public int span(int width) {
        return width * block;
    }

    /**
     * @param width channels in the group
     * @return one past the last position the group covers
     */
    public int end(int width) {
        return offset + (repeats - 1) * period + span(width);
    }

    /**
     * @param width channels in the group
     * @param axisLength length of the axis
     * @return null when the map fits the axis (repeats do not overlap, nothing past the end), else why not
     */
    public String misfit(int width, long axisLength) {
        if (repeats > 1 && period < span(width)) {
            return "repeats of " + span(width) + " positions every " + period + " overlap";
        }
        if (end(width) > axisLength) {
            return "channels reach position " + end(width) + " of an axis of length " + axisLength;
        }
        return null;
    }

    /**
     * @param width channels in the group
     * @param kept channels kept
     * @return positions the axis loses
     */
    public int removed(int width, int kept) {
        return repeats * block * (width - kept);
    }

    /**
     * The positions of the old axis that the pruned axis keeps, in their new order: positions
     * outside the group as they were, and within each repeat the blocks of the kept channels in
     * the order of {@code keep}.
     *
     * @param axisLength length of the axis before
     * @param width channels in the group
     * @param keep channels kept, in their new order
     * @return old positions, one per new position
     */
    public int[] keptPositions(int axisLength, int width, int[] keep) {
        int[] out = new int[axisLength - removed(width, keep.length)];
        int at = 0;
        int next = 0;
        for (int r = 0; r < repeats; r++) {
            int start = offset + r * period;
            while (next < start) {
                out[at++] = next++;
            }
            for (int c : keep) {
                for (int i = 0; i < block; i++) {
                    out[at++] = start + c * block + i;
                }
            }
            next = start + span(width);
        }
        while (next < axisLength) {
            out[at++] = next++;
        }
        return out;
    }

    /**
     * Where a boundary between positions (a slice start or end, a split point) lands after
     * pruning: the old boundary minus the positions removed before it.
     *
     * @param boundary a boundary in [0, axis length], not strictly inside a repeat's span
     * @param width channels in the group
     * @param kept channels kept
     * @return the boundary on the pruned axis
     * @throws IllegalArgumentException when the boundary cuts through the group's span
     */
    public int newBoundary(int boundary, int width, int kept) {
        int removedBefore = 0;
        for (int r = 0; r < repeats; r++) {
            int start = offset + r * period;
            int stop = start + span(width);
            if (boundary > start && boundary < stop) {
                throw new IllegalArgumentException("boundary " + boundary + " cuts the channels at [" + start + ", "
                        + stop + ")");
            }
            if (boundary >= stop) {
                removedBefore += block * (width - kept);
            }
        }
        return boundary - removedBefore;
    }

    /**
     * @param boundary a boundary in [0, axis length]
     * @param width channels in the group
     * @return true when it falls strictly inside a repeat's span (a slice or split there would
     *     divide the group)
     */
    public boolean cuts(int boundary, int width) {
        for (int r = 0; r < repeats; r++) {
            int start = offset + r * period;
            if (boundary > start && boundary < start + span(width)) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param c the channel
     * @return the positions covered by channel {@code c}, all repeats
     */
    public List<Integer> positionsOf(int c) {
        List<Integer> out = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
            for (int i = 0; i < block; i++) {
                out.add(offset + r * period + c * block + i);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        if (isIdentity()) {
            return "identity";
        }
        StringBuilder sb = new StringBuilder("offset ").append(offset);
        if (block > 1) {
            sb.append(", block ").append(block);
        }
        if (repeats > 1) {
            sb.append(", ").append(repeats).append(" repeats every ").append(period);
        }
        return sb.toString();
    }
}
