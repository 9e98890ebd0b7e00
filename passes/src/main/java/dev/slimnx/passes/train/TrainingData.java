package dev.slimnx.passes.train;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * Mini-batches to train on, one epoch at a time (like {@link dev.slimnx.passes.quant.CalibrationData},
 * each call starts a new pass). A batch is a feed map: a tensor per model input, batch dimension
 * first, and, for labelled data, the class labels under the reserved key {@link #LABELS} (INT64 of
 * the logits' shape without the class axis, usually {@code [N]}).
 */
public interface TrainingData {
    /**
     * The key of the labels in a batch. NOTE: a reserved name rather than a second map, so a batch
     * stays one feed map; no exporter names a graph input like this.
     */
    String LABELS = "slimnx:labels";

    /** @return true when every batch carries {@link #LABELS} */
    boolean labelled();

    /** @return batches per epoch, or -1 when not known in advance (the trainer then counts them) */
    long batchesPerEpoch();

    /**
     * @param epoch the epoch, from 0
     * @param seed a seed for this epoch: data that shuffles must order its items from it alone, so
     *     that the same seed gives the same batches
     * @return this epoch's batches
     */
    Iterator<Map<String, Tensor>> batches(int epoch, long seed);

    /**
     * @param batches feed maps served in this order every epoch (tests, small sets)
     * @return data serving them; labelled when the first batch has {@link #LABELS}
     * @throws IllegalArgumentException when there is no batch, or only some batches have labels
     */
    static TrainingData of(List<Map<String, Tensor>> batches) {
        List<Map<String, Tensor>> copy = batches.stream().map(Map::copyOf).toList();
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("no batches to train on");
        }
        boolean labelled = copy.getFirst().containsKey(LABELS);
        if (copy.stream().anyMatch(b -> b.containsKey(LABELS) != labelled)) {
            throw new IllegalArgumentException("either every batch carries labels or none does");
        }
        return new TrainingData() {
            @Override
            public boolean labelled() {
                return labelled;
            }

            @Override
            public long batchesPerEpoch() {
                return copy.size();
            }

            @Override
            public Iterator<Map<String, Tensor>> batches(int epoch, long seed) {
                return copy.iterator();
            }
        };
    }

    /**
     * Items held in memory, reshuffled every epoch from the epoch's seed (a Fisher-Yates shuffle with
     * {@link SplittableRandom}); the last batch of an epoch may be smaller.
     *
     * @param inputs a tensor per model input, all with the same first dimension N
     * @param labels N labels, or null for unlabelled data
     * @param batchSize items per batch
     * @return the data
     * @throws IllegalArgumentException when the first dimensions differ, a tensor is a string
     *     tensor or of sub-byte type, or batchSize is not positive
     */
    static TrainingData inMemory(Map<String, Tensor> inputs, long[] labels, int batchSize) {
        return new InMemory(inputs, labels, batchSize);
    }

    /** {@link #inMemory}: rows gathered from the raw bytes of each tensor. */
    final class InMemory implements TrainingData {
        private final Map<String, Tensor> inputs;
        private final long[] labels;
        private final int batchSize;
        private final int items;

        private InMemory(Map<String, Tensor> inputs, long[] labels, int batchSize) {
            if (inputs.isEmpty()) {
                throw new IllegalArgumentException("no inputs");
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("the batch size must be at least 1, got " + batchSize);
            }
            long n = -1;
            for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
                Tensor t = e.getValue();
                if (t.rank() == 0 || t.dataType() == DataType.STRING || t.dataType().bits() % 8 != 0) {
                    throw new IllegalArgumentException("input '" + e.getKey() + "' must be a tensor of rank >= 1 with"
                            + " byte-sized elements, got " + t.dataType() + Arrays.toString(t.dims()));
                }
                if (n >= 0 && t.dims()[0] != n) {
                    throw new IllegalArgumentException("input '" + e.getKey() + "' has " + t.dims()[0] + " items, another "
                            + n);
                }
                n = t.dims()[0];
            }
            if (labels != null && labels.length != n) {
                throw new IllegalArgumentException(labels.length + " labels for " + n + " items");
            }
            if (n < 1) {
                throw new IllegalArgumentException("no items to train on");
            }
            this.inputs = new LinkedHashMap<>(inputs);
            this.labels = labels == null ? null : labels.clone();
            this.batchSize = batchSize;
            this.items = Math.toIntExact(n);
        }

        @Override
        public boolean labelled() {
            return labels != null;
        }

        @Override
        public long batchesPerEpoch() {
            return (items + batchSize - 1) / batchSize;
        }

        @Override
        public Iterator<Map<String, Tensor>> batches(int epoch, long seed) {
            int[] order = new int[items];
            for (int i = 0; i < items; i++) {
                order[i] = i;
            }
            SplittableRandom random = new SplittableRandom(seed);
            for (int i = items - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            return new Iterator<>() {
                private int next;

                @Override
                public boolean hasNext() {
                    return next < items;
                }

                @Override
                public Map<String, Tensor> next() {
                    if (next >= items) {
                        throw new NoSuchElementException();
                    }
                    int[] rows = Arrays.copyOfRange(order, next, Math.min(items, next + batchSize));
                    next += rows.length;
                    return gather(rows);
                }
            };
        }

        private Map<String, Tensor> gather(int[] rows) {
            Map<String, Tensor> batch = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
                Tensor t = e.getValue();
                ByteBuffer src = t.rawBytes();
                int rowBytes = Math.toIntExact(src.remaining() / items);
                ByteBuffer dst = ByteBuffer.allocate(rowBytes * rows.length).order(ByteOrder.LITTLE_ENDIAN);
                for (int r : rows) {
                    dst.put(dst.position(), src, src.position() + r * rowBytes, rowBytes);
                    dst.position(dst.position() + rowBytes);
                }
                long[] dims = t.dims();
                dims[0] = rows.length;
                batch.put(e.getKey(), Tensor.ofRaw(e.getKey(), t.dataType(), dims, dst.flip()));
            }
            if (labels != null) {
                long[] l = new long[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    l[i] = labels[rows[i]];
                }
                batch.put(LABELS, Tensor.ofLongs(LABELS, new long[] {rows.length}, l));
            }
            return batch;
        }
    }
}
