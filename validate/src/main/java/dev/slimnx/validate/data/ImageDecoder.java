package dev.slimnx.validate.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Decodes one image file into raw pixel values; an interface so tests can count decodes. */
@FunctionalInterface
public interface ImageDecoder {
    /**
     * @param file the image file
     * @return its pixels, 1 channel for grayscale files, 3 (RGB, alpha dropped) for the rest
     * @throws IOException if the file cannot be read or decoded
     */
    RawImage decode(Path file) throws IOException;

    /**
     * The decoder of {@code javax.imageio} (PNG and JPEG in every JDK).
     *
     * <p>NOTE: grayscale files are read from the raster, not through {@code getRGB}: Java treats
     * their gray as linear and would gamma-convert it on the way to sRGB, changing every value.
     * 16-bit samples are scaled to 0..255 (divided by 257).
     *
     * @return the decoder
     */
    static ImageDecoder imageIo() {
        return file -> {
            BufferedImage img;
            try {
                img = ImageIO.read(file.toFile());
            } catch (IOException e) {
                throw new DatasetException(file, "cannot decode the image: " + e.getMessage());
            }
            if (img == null) {
                throw new DatasetException(file, "not an image javax.imageio can read (PNG or JPEG)");
            }
            int h = img.getHeight();
            int w = img.getWidth();
            boolean gray = !(img.getColorModel() instanceof IndexColorModel)
                    && img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
            if (gray) {
                Raster r = img.getRaster();
                double div = r.getSampleModel().getSampleSize(0) > 8 ? 257.0 : 1.0;
                float[] px = new float[h * w];
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        px[y * w + x] = (float) (r.getSample(x, y, 0) / div);
                    }
                }
                return new RawImage(h, w, 1, px);
            }
            int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
            float[] px = new float[h * w * 3];
            for (int i = 0; i < argb.length; i++) {
                px[3 * i] = (argb[i] >> 16) & 0xFF;
                px[3 * i + 1] = (argb[i] >> 8) & 0xFF;
                px[3 * i + 2] = argb[i] & 0xFF;
            }
            return new RawImage(h, w, 3, px);
        };
    }
}
