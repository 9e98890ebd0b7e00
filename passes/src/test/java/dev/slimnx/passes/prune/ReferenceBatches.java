package dev.slimnx.passes.prune;

import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.validate.data.DetectionCanvases;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import dev.slimnx.validate.data.NavitStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Calibration batches for Taylor importance from the committed calibration subset, prepared as
 * each reference model's manifest says: labelled images for the classifiers (MemViT: labels of its
 * first task), the first pack of the calibration stream with one label per image slot for NaViT,
 * unlabelled canvases for DETR (its loss compares with the model's own class scores).
 */
final class ReferenceBatches {
    private ReferenceBatches() {
    }

    /**
     * @param registry the reference models
     * @param model one of them
     * @param items images per batch (canvases for DETR; NaViT takes one pack)
     * @param batches how many batches, from consecutive images
     * @return the batches
     */
    static ImportanceData calibration(ReferenceModels registry, ReferenceModel model, int items, int batches)
            throws IOException {
        LabelledImages images = LabelledImages.read(registry.dataFile("calib_images"), registry.dataFile("calib_labels"));
        ReferenceModel.Preprocessing p = model.inputs().get(0).preprocessing();
        float[][] pixels = images.preprocessed(new ImagePreprocessing(p.scale(), p.mean(), p.std()));
        String first = model.inputs().get(0).name();
        ImportanceData.Batch[] out = new ImportanceData.Batch[batches];
        for (int k = 0; k < batches; k++) {
            int from = k * items;
            out[k] = switch (model.task()) {
                case PACKED -> {
                    int[] sizes = NavitStream.sizes(images.size(), NavitStream.EVAL_SEED);
                    int[] members = NavitStream.pack(sizes).get(k);
                    List<String> names = model.inputs().stream().map(ReferenceModel.InputSpec::name).toList();
                    long[] labels = new long[NavitStream.MAX_IMAGES];
                    Arrays.fill(labels, -1);
                    for (int j = 0; j < members.length; j++) {
                        labels[j] = images.labels()[members[j]];
                    }
                    yield new ImportanceData.Batch(NavitStream.build(pixels, sizes, members, 0).feeds(names),
                            Tensor.ofLongs("labels", new long[] {labels.length}, labels));
                }
                case DETECTION -> {
                    byte[][] raw = Arrays.copyOfRange(images.pixels(), from, images.size());
                    int[] labels = Arrays.copyOfRange(images.labels(), from, images.size());
                    yield new ImportanceData.Batch(Map.of(first, DetectionCanvases.input(DetectionCanvases.make(items,
                            DetectionCanvases.EVAL_SEED + k, raw, labels), new ImagePreprocessing(p.scale(), p.mean(),
                            p.std()), first)), null);
                }
                case CLASSIFICATION, MULTITASK -> {
                    int hw = images.height() * images.width();
                    float[] x = new float[items * hw];
                    long[] labels = new long[items];
                    for (int i = 0; i < items; i++) {
                        System.arraycopy(pixels[from + i], 0, x, i * hw, hw);
                        labels[i] = images.labels()[from + i];
                    }
                    yield new ImportanceData.Batch(Map.of(first, Tensor.ofFloats(first,
                            new long[] {items, 1, images.height(), images.width()}, x)),
                            Tensor.ofLongs("labels", new long[] {items}, labels));
                }
            };
        }
        return ImportanceData.of(List.of(out));
    }
}
