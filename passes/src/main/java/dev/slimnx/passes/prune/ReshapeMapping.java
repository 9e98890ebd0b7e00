package dev.slimnx.passes.prune;

import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;

/**
 * Where channels go through a Reshape (or Flatten): the same elements in the same row-major order
 * under other dims, so a channel axis keeps its place in the flat index and only its neighbours
 * change.
 *
 * <p>With {@code L} the channel axis's length and {@code q} the product of the dims after it, the
 * axis occupies the flat index at stride {@code q}. On the other side, the axis of the other shape
 * whose dims after it multiply to a divisor of {@code q} and that reaches past {@code q} holds it:
 * <ul>
 *   <li>same length, same stride: the axis just moves (a {@code [N, C, 1, 1] → [N, C]});</li>
 *   <li>a longer axis: the channel axis is merged with neighbours ({@code [B, T, H, d] →
 *       [B, T, H·d]}), and the map gains repeats (per-head dims become {@code H} repeats every
 *       {@code d}) or a block (whole heads become blocks of {@code d});</li>
 *   <li>a shorter axis: the channel axis is split in two factors {@code L = F1·F2}
 *       ({@code [B, T, H·d] → [B, T, H, d]}). The group must stay inside one factor: repeats of
 *       period {@code F2} covering the same positions in every block (per-head dims: the inner
 *       axis), or whole blocks of {@code F2} (whole heads: the outer axis). A group that spans both
 *       factors, or a split into more than two axes, is refused.</li>
 * </ul>
 * The dims after the channel axis must be known on both sides (the batch, before it, may be
 * symbolic).
 */
final class ReshapeMapping {
    private ReshapeMapping() {
    }

    /**
     * Where the channels land, or why they cannot be followed.
     *
     * @param axis the axis on the other side, or -1
     * @param map the map there
     * @param refusal null on success
     */
    record Result(int axis, ChannelMap map, String refusal) {
        static Result refused(String why) {
            return new Result(-1, null, why);
        }
    }

    /**
     * @param from the shape the channels are on
     * @param axis their axis there, of known length
     * @param m their map there
     * @param width channels in the group
     * @param to the shape on the other side of the Reshape
     * @return the axis and map on {@code to}, or a refusal
     */
    static Result map(Shape from, int axis, ChannelMap m, int width, Shape to) {
        long length = from.dim(axis).value();
        long inner = 1;
        for (int i = axis + 1; i < from.rank(); i++) {
            Dim d = from.dim(i);
            if (!d.isKnown()) {
                return Result.refused("dim " + i + " of " + from + " after the channel axis is not known");
            }
            inner *= d.value();
        }
        long suffix = 1;
        int j = to.rank() - 1;
        while (j >= 0) {
            Dim d = to.dim(j);
            if (!d.isKnown()) {
                return Result.refused("dim " + j + " of " + to + " is not known where the channel axis lands");
            }
            long next = suffix * d.value();
            if (next > inner) {
                break;
            }
            suffix = next;
            j--;
        }
        if (j < 0 || inner % suffix != 0) {
            return Result.refused("the channel axis of " + from + " does not line up with an axis of " + to);
        }
        long q = inner / suffix;
        long size = to.dim(j).value();
        if (q == 1 && size < length) {
            return split(from, length, m, width, to, j);
        }
        if (size % (length * q) != 0) {
            return Result.refused("the channel axis of " + from + " straddles axes of " + to);
        }
        long outer = size / (length * q);
        ChannelMap merged;
        if (outer == 1) {
            merged = new ChannelMap(m.offset() * (int) q, m.block() * (int) q, m.repeats(), m.period() * (int) q);
        } else if (m.repeats() == 1) {
            merged = new ChannelMap(m.offset() * (int) q, m.block() * (int) q, (int) outer, (int) (length * q));
        } else if ((long) m.repeats() * m.period() == length) {
            merged = new ChannelMap(m.offset() * (int) q, m.block() * (int) q, (int) (outer * m.repeats()),
                    m.period() * (int) q);
        } else {
            return Result.refused("repeated channels (" + m + ") merge into " + to + " irregularly");
        }
        return new Result(j, merged, null);
    }

    private static Result split(Shape from, long length, ChannelMap m, int width, Shape to, int j) {
        long f2 = to.dim(j).value();
        if (length % f2 != 0 || j == 0 || !to.dim(j - 1).isKnown() || to.dim(j - 1).value() * f2 != length) {
            return Result.refused("the channel axis of length " + length + " in " + from + " splits into more than two "
                    + "axes of " + to);
        }
        long f1 = length / f2;
        if (m.repeats() == f1 && m.period() == f2 && m.end(width) - (f1 - 1) * f2 <= f2) {
            return new Result(j, new ChannelMap(m.offset(), m.block(), 1, 0), null);
        }
        if (m.offset() % f2 == 0 && m.block() % f2 == 0 && (m.repeats() == 1 || m.period() % f2 == 0)) {
            return new Result(j - 1, new ChannelMap((int) (m.offset() / f2), (int) (m.block() / f2), m.repeats(),
                    (int) (m.period() / f2)), null);
        }
        return Result.refused("the channels (" + width + ", " + m + ") span both factors " + f1 + " × " + f2
                + " the Reshape splits their axis into; only per-head dims or whole heads can be followed");
    }
}
