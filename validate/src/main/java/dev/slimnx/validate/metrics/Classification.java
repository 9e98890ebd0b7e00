package dev.slimnx.validate.metrics;

/** Helpers for classification outputs (logits, one row per item). */
public final class Classification {
    private Classification() {
    }

    /**
     * @param logits row-major [items, classes]
     * @param items number of rows
     * @return the index of the largest value of each row (the first one on ties)
     */
    public static int[] argmax(float[] logits, int items) {
        int classes = logits.length / items;
        int[] out = new int[items];
        for (int i = 0; i < items; i++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (logits[i * classes + c] > logits[i * classes + best]) {
                    best = c;
                }
            }
            out[i] = best;
        }
        return out;
    }
}
