package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.train.TrainingData;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fine-tuning data read from a dataset (the {@code --data} option and its data options) into memory
 * once, so every epoch can be reshuffled ({@link TrainingData#inMemory}). NOTE: in memory rather
 * than streamed because a stream cannot be shuffled, and shuffling matters more to fine-tuning
 * than reading a set too large for the heap: such a set is refused with a message naming
 * {@code --limit}.
 */
final class DatasetTraining {
    /** Items read per call to the dataset. */
    private static final int CHUNK = 500;

    private DatasetTraining() {
    }

    /**
     * @param spec where the data is and how to prepare it
     * @param model the model whose inputs the data feeds
     * @param batchSize items per training batch
     * @param maxBytes the most bytes of inputs to hold
     * @return the data, labelled when the dataset is
     * @throws IOException when the data cannot be read (the message names the file)
     * @throws UserError when the data is empty or larger than maxBytes
     */
    static TrainingData load(DataSpec spec, Model model, int batchSize, long maxBytes) throws IOException {
        String source = spec.source() == null ? "synthetic data" : spec.source().toString();
        Map<String, List<ByteBuffer>> parts = new LinkedHashMap<>();
        Map<String, Tensor> firsts = new LinkedHashMap<>();
        List<int[]> labels = new ArrayList<>();
        long items = 0;
        long bytes = 0;
        boolean labelled;
        try (Dataset d = Datasets.open(spec, model, "train")) {
            labelled = d.labelled();
            for (Batch b; (b = d.next(CHUNK)) != null; ) {
                for (Map.Entry<String, Tensor> e : b.inputs().entrySet()) {
                    firsts.putIfAbsent(e.getKey(), e.getValue());
                    ByteBuffer raw = e.getValue().rawBytes();
                    bytes += raw.remaining();
                    parts.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(raw);
                }
                if (labelled) {
                    labels.add(b.labels());
                }
                items += b.size();
                if (bytes > maxBytes) {
                    throw new UserError(source + ": more than " + Format.bytes(maxBytes) + " of inputs after " + items
                            + " items; fine-tuning holds its data in memory, so use --limit N (or a larger -Xmx)");
                }
            }
        }
        if (items == 0) {
            throw new UserError(source + ": no items to fine-tune on");
        }
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Map.Entry<String, List<ByteBuffer>> e : parts.entrySet()) {
            int total = e.getValue().stream().mapToInt(ByteBuffer::remaining).sum();
            ByteBuffer all = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
            e.getValue().forEach(all::put);
            Tensor first = firsts.get(e.getKey());
            long[] dims = first.dims();
            dims[0] = items;
            inputs.put(e.getKey(), Tensor.ofRaw(e.getKey(), first.dataType(), dims, all.flip()));
        }
        long[] flat = null;
        if (labelled) {
            flat = new long[Math.toIntExact(items)];
            int k = 0;
            for (int[] chunk : labels) {
                for (int l : chunk) {
                    flat[k++] = l;
                }
            }
        }
        return TrainingData.inMemory(inputs, flat, batchSize);
    }
}
