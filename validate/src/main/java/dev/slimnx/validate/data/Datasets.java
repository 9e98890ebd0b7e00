package dev.slimnx.validate.data;

import dev.slimnx.graph.Model;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * Opens the dataset the user's data options describe, choosing its kind from the path:
 * <ul>
 *   <li>no path: {@link SyntheticDataset} from the model's signature;
 *   <li>{@code .npy} / {@code .npz}: {@link NpyDataset};
 *   <li>an IDX images file, or a folder holding IDX files: {@link IdxDataset} (see {@link IdxSource}
 *       for splits);
 *   <li>any other folder: {@link ImageFolderDataset} (one subfolder per class).
 * </ul>
 */
public final class Datasets {
    private Datasets() {
    }

    /**
     * @param spec the data options
     * @param model the model the data feeds (its inputs decide names, channels and types)
     * @param defaultSplit the split of an IDX folder when {@code spec.split()} is null: {@code test} for
     *     validation, {@code train} for calibration and fine-tuning
     * @return the open dataset; the caller closes it
     * @throws DatasetException if the data is missing, of an unknown kind, malformed, or does not fit
     *     the model; the message names the file and the problem
     * @throws IOException if the data cannot be read
     */
    public static Dataset open(DataSpec spec, Model model, String defaultSplit) throws IOException {
        Objects.requireNonNull(model, "model");
        Path source = spec.source();
        if (source == null) {
            return new SyntheticDataset(model, spec);
        }
        if (!Files.exists(source)) {
            throw new DatasetException(source, "no such file or folder");
        }
        if (Files.isDirectory(source)) {
            if (IdxSource.folderHasImages(source)) {
                return openIdx(source, spec, model, defaultSplit);
            }
            return new ImageFolderDataset(source, ImageTarget.of(spec, model, 3, source), spec.limit(), ImageDecoder.imageIo());
        }
        String name = source.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy")) {
            return NpyDataset.openNpy(source, model, spec);
        }
        if (name.endsWith(".npz")) {
            return NpyDataset.openNpz(source, model, spec);
        }
        if (IdxSource.looksLikeIdx(source)) {
            return openIdx(source, spec, model, defaultSplit);
        }
        throw new DatasetException(source, "unknown kind of data file; expected an IDX images file (NAME-images-idx3-ubyte[.gz]),"
                + " a .npy or .npz file, or a folder (IDX files, or one subfolder of images per class)");
    }

    private static IdxDataset openIdx(Path source, DataSpec spec, Model model, String defaultSplit) throws IOException {
        IdxSource files = IdxSource.locate(source, spec.split(), defaultSplit);
        return new IdxDataset(files, ImageTarget.of(spec, model, 1, files.images()), spec.limit());
    }
}
