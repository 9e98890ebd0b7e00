package dev.slimnx.validate.data;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random inputs built from the model's signature, for runs that measure speed or output error and
 * need no real data. Unlabelled.
 *
 * <p>Every model input is fed. The first axis is the batch axis: it takes each batch's size unless
 * the model fixes it. Other symbolic or unknown dims take their sizes from {@code --shape
 * NAME=1x3x224x224} (whose first value is then only a placeholder for the batch axis).
 *
 * <p>NOTE: floating-point inputs are standard normal (what normalised images look like); integer
 * and bool inputs are all zeros, because integer inputs of vision models are indices (positions,
 * image ids in a pack) and random ones would run out of range inside the model.
 */
public final class SyntheticDataset implements Dataset {
    /** Items served when the user sets no {@code --limit}. */
    public static final int DEFAULT_ITEMS = 64;

    private final Map<ModelInput, long[]> shapes;
    private final SplittableRandom random;
    private final long size;
    private long served;

    /**
     * @param model the model whose inputs are fed
     * @param spec {@code shapes}, {@code seed} and {@code limit}
     * @throws DatasetException if an input has a symbolic dim and no {@code --shape}, a {@code --shape}
     *     contradicts the model or names no input, or an input's type is unknown or not numeric
     */
    public SyntheticDataset(Model model, DataSpec spec) throws DatasetException {
        List<ModelInput> inputs = ModelInput.all(model);
        List<String> names = inputs.stream().map(ModelInput::name).toList();
        for (String given : spec.shapes().keySet()) {
            if (!names.contains(given)) {
                throw new DatasetException("--shape names '" + given + "', which is not a model input; the inputs are " + names);
            }
        }
        if (inputs.isEmpty()) {
            throw new DatasetException("the model has no inputs to feed");
        }
        this.shapes = new LinkedHashMap<>();
        for (ModelInput in : inputs) {
            if (in.elemType() == null || in.elemType() == DataType.STRING || in.elemType().bits() < 8) {
                throw new DatasetException("model input '" + in.name() + "' has element type "
                        + (in.elemType() == null ? "unknown" : in.elemType()) + "; synthetic data cannot feed it");
            }
            shapes.put(in, resolve(in, spec.shapes().get(in.name())));
        }
        this.random = new SplittableRandom(spec.seed());
        this.size = spec.limit() > 0 ? spec.limit() : DEFAULT_ITEMS;
    }

    /** @return the dims of the input, dim 0 as the model or {@code --shape} gives it */
    private static long[] resolve(ModelInput in, long[] given) throws DatasetException {
        String example = in.name() + "=1x3x224x224";
        if (in.shape() == null) {
            if (given == null) {
                throw new DatasetException("model input '" + in.name() + "' has no declared shape; give it with --shape " + example);
            }
            return given.clone();
        }
        List<Dim> dims = in.shape().dims();
        if (given != null) {
            if (given.length != dims.size()) {
                throw new DatasetException("--shape " + in.name() + " has " + given.length + " dims, the model input has "
                        + dims.size() + " " + in.shape());
            }
            for (int i = 1; i < dims.size(); i++) {
                if (dims.get(i).isKnown() && dims.get(i).value() != given[i]) {
                    throw new DatasetException("--shape " + in.name() + " gives " + given[i] + " at axis " + i
                            + ", the model input has " + dims.get(i) + " " + in.shape());
                }
            }
            return given.clone();
        }
        long[] out = new long[dims.size()];
        for (int i = 0; i < out.length; i++) {
            Dim d = dims.get(i);
            if (d.isKnown()) {
                out[i] = d.value();
            } else if (i == 0) {
                out[i] = 1; // the batch axis: set per batch
            } else {
                throw new DatasetException("model input '" + in.name() + "' has " + (d.isSymbolic() ? "symbolic dim '" + d.param() + "'"
                        : "an unknown dim") + " at axis " + i + " " + in.shape() + "; give its shape with --shape " + example);
            }
        }
        return out;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean labelled() {
        return false;
    }

    @Override
    public Batch next(int maxItems) throws DatasetException {
        int n = (int) Math.min(maxItems, size - served);
        if (n <= 0) {
            return null;
        }
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (var e : shapes.entrySet()) {
            ModelInput in = e.getKey();
            long[] dims = e.getValue().clone();
            if (dims.length > 0) {
                long fixed = in.knownDim(0);
                if (fixed != -1 && fixed != n) {
                    throw new DatasetException("model input '" + in.name() + "' has a fixed batch size of " + fixed
                            + ", asked for a batch of " + n);
                }
                dims[0] = n;
            }
            inputs.put(in.name(), randomTensor(in.name(), in.elemType(), dims, random));
        }
        served += n;
        return new Batch(inputs, null, n);
    }

    /**
     * @param name the tensor's name
     * @param type its element type
     * @param dims its shape
     * @param random the source
     * @return standard normal floats (float, double, float16, bfloat16); integers and bools zero,
     *     so that index inputs stay in range
     */
    public static Tensor randomTensor(String name, DataType type, long[] dims, SplittableRandom random) {
        int count = Math.toIntExact(Tensor.elementCount(dims));
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(type.byteSize(count))).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            switch (type) {
                case FLOAT -> buf.putFloat((float) random.nextGaussian());
                case DOUBLE -> buf.putDouble(random.nextGaussian());
                case FLOAT16, BFLOAT16 -> buf.putShort(type == DataType.FLOAT16 ? Float.floatToFloat16((float) random.nextGaussian())
                        : (short) (Float.floatToIntBits((float) random.nextGaussian()) >>> 16));
                default -> {
                    // integers and bool stay zero (see the class comment)
                }
            }
        }
        buf.position(0);
        return Tensor.ofRaw(name, type, dims, buf);
    }

    @Override
    public void close() {
        // nothing held
    }

    @Override
    public String toString() {
        return "synthetic inputs " + shapes.entrySet().stream().map(e -> e.getKey().name() + Arrays.toString(e.getValue())).toList();
    }
}
