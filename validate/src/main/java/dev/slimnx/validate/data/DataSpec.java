package dev.slimnx.validate.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the user said about their data (the shared data options of every command that reads data):
 * where it is and how raw values become model input.
 *
 * @param source an IDX file or folder, an image folder (one subfolder per class), a .npy/.npz
 *     file, or null for synthetic inputs built from the model's signature
 * @param split {@code train} or {@code test} for a folder holding both IDX splits; null picks the
 *     command's default
 * @param scale multiplier of raw pixel values (e.g. 1/255)
 * @param mean per-channel means subtracted after scaling (one value applies to all channels)
 * @param std per-channel standard deviations
 * @param resize shorter image side after resizing, 0 for none
 * @param crop centre-crop size, 0 for none
 * @param layout {@code NCHW} or {@code NHWC}
 * @param limit most items to use, 0 for all
 * @param input the model input the data feeds, null when the model has one input
 * @param shapes values for symbolic dims of synthetic inputs: input name → dims
 * @param seed seed of synthetic data and of any sampling
 */
public record DataSpec(Path source, String split, double scale, List<Double> mean, List<Double> std, int resize,
                       int crop, String layout, int limit, String input, Map<String, long[]> shapes, long seed) {
    public DataSpec {
        Objects.requireNonNull(layout);
        mean = List.copyOf(mean);
        std = List.copyOf(std);
        shapes = Map.copyOf(shapes);
        if (!layout.equals("NCHW") && !layout.equals("NHWC")) {
            throw new IllegalArgumentException("layout must be NCHW or NHWC, got " + layout);
        }
        if (limit < 0 || resize < 0 || crop < 0) {
            throw new IllegalArgumentException("limit, resize and crop must be >= 0");
        }
    }

    /**
     * @param source images (an IDX file or folder, or an image folder)
     * @param split {@code train} or {@code test}, or null for the caller's default
     * @param preprocessing scale, mean and std
     * @return a spec with NCHW layout, no resize or crop, no limit
     */
    public static DataSpec images(Path source, String split, ImagePreprocessing preprocessing) {
        return new DataSpec(source, split, preprocessing.scale(),
                java.util.Arrays.stream(preprocessing.mean()).boxed().toList(),
                java.util.Arrays.stream(preprocessing.std()).boxed().toList(), 0, 0, "NCHW", 0, null, Map.of(), 0);
    }

    /** @return the preprocessing these options describe */
    public ImagePreprocessing preprocessing() {
        return new ImagePreprocessing(scale, mean.stream().mapToDouble(Double::doubleValue).toArray(),
                std.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
