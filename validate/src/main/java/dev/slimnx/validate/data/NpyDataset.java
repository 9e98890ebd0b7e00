package dev.slimnx.validate.data;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Tensor;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Model-ready tensors from NumPy files, fed as stored (no resize or normalisation: whoever saved
 * them already did that). A {@code .npy} file feeds one input and has no labels; a {@code .npz}
 * archive holds one array per model input, named after it, plus optional labels in an array named
 * {@code labels} or {@code y}. Every array is read row by row, so only the current batch is in memory.
 */
public final class NpyDataset implements Dataset {
    private static final List<String> LABEL_NAMES = List.of("labels", "y");

    private final ZipFile zip;
    private final Map<ModelInput, NpyArray> arrays;
    private final NpyArray labels;
    private final long size;
    private long served;

    private NpyDataset(ZipFile zip, Map<ModelInput, NpyArray> arrays, NpyArray labels, int limit) {
        this.zip = zip;
        this.arrays = arrays;
        this.labels = labels;
        long rows = arrays.values().iterator().next().header().rows();
        this.size = limit > 0 ? Math.min(limit, rows) : rows;
    }

    /**
     * @param file a {@code .npy} file
     * @param model the model
     * @param spec the data options ({@code input}, {@code limit})
     * @return the dataset, unlabelled
     * @throws DatasetException if the header is not supported or the array does not fit the model input
     * @throws IOException on read errors
     */
    public static NpyDataset openNpy(Path file, Model model, DataSpec spec) throws IOException {
        ModelInput input = ModelInput.select(model, spec.input());
        NpyArray a = NpyArray.open(new BufferedInputStream(Files.newInputStream(file), 1 << 16), file.toString());
        try {
            checkFits(a, input);
        } catch (DatasetException e) {
            a.close();
            throw e;
        }
        return new NpyDataset(null, Map.of(input, a), null, spec.limit());
    }

    /**
     * @param file a {@code .npz} archive
     * @param model the model
     * @param spec the data options ({@code input}, {@code limit})
     * @return the dataset, labelled when the archive has {@code labels} or {@code y}
     * @throws DatasetException if an input has no array, arrays disagree on the item count, or an
     *     array does not fit its input; the message lists the arrays found
     * @throws IOException on read errors
     */
    public static NpyDataset openNpz(Path file, Model model, DataSpec spec) throws IOException {
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (java.util.zip.ZipException e) {
            throw new DatasetException(file, "not an NPZ (zip) archive: " + e.getMessage());
        }
        List<NpyArray> opened = new ArrayList<>();
        try {
            Map<String, ZipEntry> entries = new LinkedHashMap<>();
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry z = e.nextElement();
                if (!z.isDirectory() && z.getName().endsWith(".npy")) {
                    entries.put(z.getName().substring(0, z.getName().length() - 4), z);
                }
            }
            String labelName = LABEL_NAMES.stream().filter(entries::containsKey).findFirst().orElse(null);
            Map<ModelInput, String> chosen = chooseArrays(file, model, spec, entries.keySet(), labelName);
            Map<ModelInput, NpyArray> arrays = new LinkedHashMap<>();
            for (var e : chosen.entrySet()) {
                NpyArray a = open(zip, file, entries.get(e.getValue()), opened);
                checkFits(a, e.getKey());
                arrays.put(e.getKey(), a);
            }
            NpyArray labels = labelName == null ? null : open(zip, file, entries.get(labelName), opened);
            long rows = arrays.values().iterator().next().header().rows();
            for (NpyArray a : opened) {
                if (a.header().rows() != rows) {
                    throw new DatasetException(file, "arrays disagree on the item count: " + describe(opened));
                }
            }
            return new NpyDataset(zip, arrays, labels, spec.limit());
        } catch (IOException | RuntimeException e) {
            for (NpyArray a : opened) {
                a.close();
            }
            zip.close();
            throw e;
        }
    }

    /** The model inputs the archive feeds, each with its array: by name, or the one array for the one input. */
    private static Map<ModelInput, String> chooseArrays(Path file, Model model, DataSpec spec, java.util.Set<String> names,
                                                        String labelName) throws DatasetException {
        List<String> data = names.stream().filter(n -> !LABEL_NAMES.contains(n)).toList();
        List<ModelInput> wanted = spec.input() != null ? List.of(ModelInput.select(model, spec.input())) : ModelInput.all(model);
        Map<ModelInput, String> out = new LinkedHashMap<>();
        for (ModelInput in : wanted) {
            if (names.contains(in.name())) {
                out.put(in, in.name());
            }
        }
        if (out.isEmpty() && wanted.size() == 1 && data.size() == 1) {
            out.put(wanted.get(0), data.get(0)); // one array for one input: the name does not matter
        }
        List<String> expected = wanted.stream().map(ModelInput::name).toList();
        for (ModelInput in : wanted) {
            if (!out.containsKey(in)) {
                throw new DatasetException(file, "no array for model input '" + in.name() + "'; the archive has "
                        + new TreeSet<>(names) + ", expected " + expected + " (plus optional labels or y)");
            }
        }
        return out;
    }

    private static NpyArray open(ZipFile zip, Path file, ZipEntry entry, List<NpyArray> opened) throws IOException {
        NpyArray a = NpyArray.open(new BufferedInputStream(zip.getInputStream(entry), 1 << 16), file + ":" + entry.getName());
        opened.add(a);
        return a;
    }

    private static void checkFits(NpyArray a, ModelInput input) throws DatasetException {
        if (input.shape() == null) {
            return;
        }
        long[] shape = a.header().shape();
        boolean fits = shape.length == input.rank();
        for (int i = 1; fits && i < shape.length; i++) {
            Dim d = input.shape().dim(i);
            fits = !d.isKnown() || d.value() == shape[i];
        }
        if (!fits) {
            throw new DatasetException(a.where() + ": shape " + a.header().shapeText() + " does not fit model input '"
                    + input.name() + "' " + input.shape() + " (the first axis lists the items)");
        }
    }

    private static String describe(List<NpyArray> arrays) {
        return arrays.stream().map(a -> a.where().substring(a.where().lastIndexOf(':') + 1) + " " + a.header().shapeText())
                .toList().toString();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean labelled() {
        return labels != null;
    }

    @Override
    public Batch next(int maxItems) throws IOException {
        int n = (int) Math.min(maxItems, size - served);
        if (n <= 0) {
            return null;
        }
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (var e : arrays.entrySet()) {
            inputs.put(e.getKey().name(), e.getValue().readRows(n, e.getKey().name(), e.getKey().elemType()));
        }
        int[] y = labels == null ? null : labels.readLabels(n);
        served += n;
        return new Batch(inputs, y, n);
    }

    @Override
    public void close() throws IOException {
        try {
            for (NpyArray a : arrays.values()) {
                a.close();
            }
            if (labels != null) {
                labels.close();
            }
        } finally {
            if (zip != null) {
                zip.close();
            }
        }
    }
}
