package dev.slimnx.validate.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds an IDX images file and its labels file from what the user named: the images file itself
 * (the labels file lies beside it, MNIST naming) or a folder holding one or both splits.
 *
 * <p>Split names: {@code train} is {@code train-*}, or {@code calib-*} where no {@code train-*} exists
 * (the committed reference data keeps a calibration subset instead of the 60k training set);
 * {@code test} is {@code t10k-*} or {@code test-*}.
 *
 * @param images the images file, [N, H, W]
 * @param labels the labels file beside it, [N]
 */
public record IdxSource(Path images, Path labels) {
    private static final Pattern IMAGES = Pattern.compile("(.+)-images[-.]idx3-ubyte(\\.gz)?");
    private static final Pattern LABELS = Pattern.compile("(.+)-labels[-.]idx1-ubyte(\\.gz)?");
    private static final Map<String, List<String>> SPLIT_PREFIXES =
            Map.of("train", List.of("train", "calib"), "test", List.of("t10k", "test"));

    /**
     * @param file a file name
     * @return true if it is named like an IDX images or labels file
     */
    public static boolean looksLikeIdx(Path file) {
        String name = file.getFileName().toString();
        return IMAGES.matcher(name).matches() || LABELS.matcher(name).matches() || name.endsWith("-ubyte")
                || name.endsWith("-ubyte.gz");
    }

    /**
     * @param folder a folder
     * @return true if it holds at least one IDX images file
     * @throws IOException if it cannot be listed
     */
    public static boolean folderHasImages(Path folder) throws IOException {
        return !imagesFiles(folder).isEmpty();
    }

    /**
     * @param source an IDX images file, or a folder holding IDX files
     * @param split {@code train} or {@code test} as the user asked, or null
     * @param defaultSplit the command's split when the user did not ask (validation: test; calibration
     *     and fine-tuning: train)
     * @return the images file and its labels file
     * @throws DatasetException if the split or the labels file is missing, or names do not follow the
     *     MNIST pattern; the message says what was expected
     * @throws IOException if the folder cannot be listed
     */
    public static IdxSource locate(Path source, String split, String defaultSplit) throws IOException {
        if (!Files.isDirectory(source)) {
            return besideLabels(source);
        }
        String wanted = split != null ? split : defaultSplit;
        if (!SPLIT_PREFIXES.containsKey(wanted)) {
            throw new DatasetException(source, "split must be train or test, got '" + wanted + "'");
        }
        Map<String, Path> byPrefix = imagesFiles(source);
        for (String prefix : SPLIT_PREFIXES.get(wanted)) {
            if (byPrefix.containsKey(prefix)) {
                return besideLabels(byPrefix.get(prefix));
            }
        }
        boolean known = byPrefix.keySet().stream().anyMatch(p -> SPLIT_PREFIXES.values().stream().anyMatch(l -> l.contains(p)));
        if (split == null && byPrefix.size() == 1 && !known) {
            return besideLabels(byPrefix.values().iterator().next()); // one set of no named split: the user's data
        }
        List<String> found = byPrefix.values().stream().map(p -> p.getFileName().toString()).toList();
        throw new DatasetException(source, "no " + wanted + " split (" + String.join("-* or ", SPLIT_PREFIXES.get(wanted))
                + "-* IDX images); found " + (found.isEmpty() ? "no IDX images files" : found)
                + (split == null ? "; choose one with --split" : ""));
    }

    private static IdxSource besideLabels(Path images) throws DatasetException {
        String name = images.getFileName().toString();
        Matcher m = IMAGES.matcher(name);
        if (!m.matches()) {
            if (LABELS.matcher(name).matches()) {
                throw new DatasetException(images, "is an IDX labels file; give the images file (NAME-images-idx3-ubyte[.gz])");
            }
            throw new DatasetException(images, "IDX images files must be named NAME-images-idx3-ubyte[.gz]"
                    + " so that NAME-labels-idx1-ubyte[.gz] beside them can be found");
        }
        if (!Files.isRegularFile(images)) {
            throw new DatasetException(images, "no such file");
        }
        String prefix = m.group(1);
        List<String> candidates = List.of(prefix + "-labels-idx1-ubyte.gz", prefix + "-labels-idx1-ubyte",
                prefix + "-labels.idx1-ubyte.gz", prefix + "-labels.idx1-ubyte");
        for (String c : candidates) {
            Path labels = images.resolveSibling(c);
            if (Files.isRegularFile(labels)) {
                return new IdxSource(images, labels);
            }
        }
        throw new DatasetException(images, "no labels file beside it (expected " + candidates.get(1) + " or "
                + candidates.get(0) + ")");
    }

    /** @return prefix → images file, the first in name order where a prefix has several (gz and not) */
    private static Map<String, Path> imagesFiles(Path folder) throws IOException {
        Map<String, Path> out = new TreeMap<>();
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(folder)) {
            s.filter(Files::isRegularFile).sorted().forEach(files::add);
        }
        for (Path p : files) {
            Matcher m = IMAGES.matcher(p.getFileName().toString());
            if (m.matches()) {
                out.putIfAbsent(m.group(1), p);
            }
        }
        return out;
    }
}
