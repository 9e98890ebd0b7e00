package dev.slimnx.passes.testing;

import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.validate.data.DetectionCanvases;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import dev.slimnx.validate.data.NavitStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Real inputs for a reference model from the committed test set, prepared as the manifest says:
 * images for the classifiers, the first pack of the mixed-resolution stream for NaViT, the first
 * detection canvases for DETR. Passes are judged on these, not only on random tensors, because
 * real activations reach ranges (saturated softmaxes, sparse ReLUs) that random inputs miss.
 */
public final class ReferenceInputs {
    private ReferenceInputs() {
    }

    /**
     * @param registry the reference models
     * @param model one of them
     * @param items images (or canvases) to feed; NaViT takes one pack whatever this says
     * @return feeds by input name
     */
    public static Map<String, Tensor> feeds(ReferenceModels registry, ReferenceModel model, int items)
            throws IOException {
        LabelledImages images = LabelledImages.read(registry.dataFile("test_images"), registry.dataFile("test_labels"));
        ReferenceModel.Preprocessing p = model.inputs().get(0).preprocessing();
        ImagePreprocessing prep = new ImagePreprocessing(p.scale(), p.mean(), p.std());
        String first = model.inputs().get(0).name();
        return switch (model.task()) {
            case PACKED -> {
                float[][] pixels = images.preprocessed(prep);
                int[] sizes = NavitStream.sizes(images.size(), NavitStream.EVAL_SEED);
                int[] members = NavitStream.pack(sizes).get(0);
                List<String> names = model.inputs().stream().map(ReferenceModel.InputSpec::name).toList();
                yield NavitStream.build(pixels, sizes, members, 0).feeds(names);
            }
            case DETECTION -> Map.of(first, DetectionCanvases.input(DetectionCanvases.make(items,
                    DetectionCanvases.EVAL_SEED, images.pixels(), images.labels()), prep, first));
            case CLASSIFICATION, MULTITASK -> {
                float[][] pixels = images.preprocessed(prep);
                int hw = images.height() * images.width();
                float[] batch = new float[items * hw];
                for (int i = 0; i < items; i++) {
                    System.arraycopy(pixels[i], 0, batch, i * hw, hw);
                }
                yield Map.of(first, Tensor.ofFloats(first, new long[] {items, 1, images.height(), images.width()},
                        batch));
            }
        };
    }
}
