package dev.slimnx.validate.data;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.DataType;
import java.nio.file.Path;

/**
 * Where image data goes: the model input it feeds and the transform that gets it there. Shared by
 * the image sources (IDX, image folders) so both choose channels and check sizes the same way.
 *
 * @param input the model input
 * @param transform resize, crop, normalisation and layout, for the input's channel count
 */
public record ImageTarget(ModelInput input, ImageTransform transform) {

    /**
     * The channel count comes from the model input (axis 1 for NCHW, 3 for NHWC); when the model does
     * not say, the source's natural count is used.
     *
     * @param spec the data options
     * @param model the model
     * @param naturalChannels channels of the source's images (1 for IDX, 3 for PNG/JPEG)
     * @param source the data file or folder, named in errors
     * @return the target
     * @throws DatasetException if the input is not a rank-4 float tensor of 1 or 3 channels, or the
     *     mean/std lists do not fit its channels
     */
    public static ImageTarget of(DataSpec spec, Model model, int naturalChannels, Path source) throws DatasetException {
        ModelInput input = ModelInput.select(model, spec.input());
        if (input.elemType() != null && input.elemType() != DataType.FLOAT) {
            throw new DatasetException(source, "images become FLOAT tensors, but model input '" + input.name()
                    + "' is " + input.elemType());
        }
        if (input.rank() != -1 && input.rank() != 4) {
            throw new DatasetException(source, "images feed rank-4 inputs (" + spec.layout() + "), but model input '"
                    + input.name() + "' has shape " + input.shape());
        }
        long declared = input.knownDim(spec.layout().equals("NHWC") ? 3 : 1);
        int channels = declared == -1 ? naturalChannels : (int) declared;
        if (channels != 1 && channels != 3) {
            throw new DatasetException(source, "model input '" + input.name() + "' has " + channels + " channels in "
                    + spec.layout() + " layout; images give 1 or 3 (is --layout right?)");
        }
        try {
            return new ImageTarget(input, new ImageTransform(spec, channels));
        } catch (IllegalArgumentException e) {
            throw new DatasetException(e.getMessage());
        }
    }

    /**
     * @param height rows of the raw image
     * @param width columns of the raw image
     * @param file the image's file, named in errors
     * @return {rows, columns} after the transform, checked against the model input's known sizes
     * @throws DatasetException if the crop does not fit or the result does not fit the model input
     */
    public int[] outputSize(int height, int width, Path file) throws DatasetException {
        int[] size;
        try {
            size = transform.outputSize(height, width);
        } catch (IllegalArgumentException e) {
            throw new DatasetException(file, e.getMessage());
        }
        boolean nhwc = transform.nhwc();
        long h = input.knownDim(nhwc ? 1 : 2);
        long w = input.knownDim(nhwc ? 2 : 3);
        if ((h != -1 && h != size[0]) || (w != -1 && w != size[1])) {
            throw new DatasetException(file, "gives " + size[0] + "x" + size[1] + " images, but model input '"
                    + input.name() + "' has shape " + input.shape() + "; set --resize/--crop (or --layout)");
        }
        return size;
    }

    /**
     * @param items batch size
     * @param size {rows, columns}
     * @return the batch tensor's dims in the chosen layout
     */
    public long[] dims(int items, int[] size) {
        int c = transform.channels();
        return transform.nhwc() ? new long[] {items, size[0], size[1], c} : new long[] {items, c, size[0], size[1]};
    }
}
