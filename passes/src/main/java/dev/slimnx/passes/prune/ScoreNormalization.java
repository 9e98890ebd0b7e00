package dev.slimnx.passes.prune;

import java.util.Locale;

/**
 * How a group's scores are scaled before they are compared with another group's: the raw size of
 * a Taylor or magnitude score depends on the layer (its fan-in, the scale of its activations), so a
 * global ranking over layers divides each layer's scores by their maximum or their sum first.
 */
public enum ScoreNormalization {
    /** Scores as computed. */
    NONE,
    /** Each score over the group's largest: the best channel of every layer scores 1. */
    MAX,
    /** Each score over the group's sum: a layer's scores sum to 1. */
    SUM;

    /**
     * @param scores non-negative scores of one group
     * @return the normalised scores (a new array); all zeros stay zeros
     */
    public double[] apply(double[] scores) {
        double denominator = switch (this) {
            case NONE -> 1;
            case MAX -> {
                double m = 0;
                for (double s : scores) {
                    m = Math.max(m, s);
                }
                yield m;
            }
            case SUM -> {
                double sum = 0;
                for (double s : scores) {
                    sum += s;
                }
                yield sum;
            }
        };
        double[] out = new double[scores.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = denominator > 0 ? scores[i] / denominator : 0;
        }
        return out;
    }

    /**
     * @param text {@code none}, {@code max} or {@code sum}, any case
     * @return the normalization
     * @throws IllegalArgumentException naming the choices
     */
    public static ScoreNormalization parse(String text) {
        try {
            return valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("score normalization '" + text + "' is not none, max or sum");
        }
    }
}
