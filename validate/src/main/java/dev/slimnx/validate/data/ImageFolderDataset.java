package dev.slimnx.validate.data;

import dev.slimnx.graph.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Labelled images in one subfolder per class (torchvision's {@code ImageFolder} layout): the class
 * index is the subfolder's position in name order, PNG and JPEG files are the items.
 *
 * <p>Only file names are held; a batch's images are decoded when the batch is asked for and
 * dropped with it, so a folder of any size is read in the memory of one batch.
 *
 * <p>NOTE: items are served round-robin over the classes (the first image of every class, then the
 * second, ...), not class by class, so that {@code --limit 500} on a sorted folder still sees every
 * class instead of only the first one. Folders whose names start with a dot are skipped.
 */
public final class ImageFolderDataset implements Dataset {
    private final Path root;
    private final List<String> classes;
    private final Path[] files;
    private final int[] labels;
    private final ImageTarget target;
    private final ImageDecoder decoder;
    private final long size;
    private int[] outSize;
    private int served;

    /**
     * @param root the folder of class subfolders
     * @param target the model input and transform
     * @param limit most items to serve, 0 for all
     * @param decoder reads one image file
     * @throws DatasetException if there are no class subfolders or no images in them
     * @throws IOException if the folders cannot be listed
     */
    public ImageFolderDataset(Path root, ImageTarget target, int limit, ImageDecoder decoder) throws IOException {
        this.root = root;
        this.target = target;
        this.decoder = decoder;
        List<Path> classDirs = list(root).stream().filter(Files::isDirectory)
                .filter(p -> !p.getFileName().toString().startsWith(".")).toList();
        if (classDirs.isEmpty()) {
            boolean loose = list(root).stream().anyMatch(ImageFolderDataset::isImage);
            throw new DatasetException(root, loose
                    ? "holds images but no class subfolders; put each class's images in a subfolder named after the class"
                    : "no class subfolders with PNG or JPEG images");
        }
        this.classes = classDirs.stream().map(p -> p.getFileName().toString()).toList();
        List<List<Path>> perClass = new ArrayList<>();
        int total = 0;
        int longest = 0;
        for (Path dir : classDirs) {
            List<Path> images = list(dir).stream().filter(ImageFolderDataset::isImage).toList();
            perClass.add(images);
            total += images.size();
            longest = Math.max(longest, images.size());
        }
        if (total == 0) {
            throw new DatasetException(root, "no PNG or JPEG images in its " + classDirs.size() + " class subfolders");
        }
        this.files = new Path[total];
        this.labels = new int[total];
        int k = 0;
        for (int round = 0; round < longest; round++) {
            for (int c = 0; c < perClass.size(); c++) {
                if (round < perClass.get(c).size()) {
                    files[k] = perClass.get(c).get(round);
                    labels[k++] = c;
                }
            }
        }
        this.size = limit > 0 ? Math.min(limit, total) : total;
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return (n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg")) && Files.isRegularFile(p);
    }

    /** @return class names, in label order */
    public List<String> classes() {
        return classes;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean labelled() {
        return true;
    }

    @Override
    public Batch next(int maxItems) throws IOException {
        int n = (int) Math.min(maxItems, size - served);
        if (n <= 0) {
            return null;
        }
        int c = target.transform().channels();
        float[] out = null;
        int per = 0;
        for (int i = 0; i < n; i++) {
            Path file = files[served + i];
            RawImage img = decoder.decode(file);
            int[] s = target.outputSize(img.height(), img.width(), file);
            if (outSize == null) {
                outSize = s;
            } else if (s[0] != outSize[0] || s[1] != outSize[1]) {
                throw new DatasetException(file, "gives a " + s[0] + "x" + s[1] + " image after preprocessing, earlier images "
                        + outSize[0] + "x" + outSize[1] + "; set --crop (with --resize) so that all images get one size");
            }
            if (out == null) {
                per = c * outSize[0] * outSize[1];
                out = new float[n * per];
            }
            target.transform().write(img.withChannels(c), out, i * per);
        }
        int[] y = java.util.Arrays.copyOfRange(labels, served, served + n);
        served += n;
        String name = target.input().name();
        return new Batch(Map.of(name, Tensor.ofFloats(name, target.dims(n, outSize), out)), y, n);
    }

    @Override
    public void close() {
        // nothing open between batches
    }

    @Override
    public String toString() {
        return "image folder " + root + " (" + classes.size() + " classes, " + files.length + " images)";
    }
}
