package dev.slimnx.validate.data;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * A model input as the data sources see it: its name, element type and shape (null parts when the
 * model does not say).
 *
 * @param name the input name
 * @param elemType the element type, or null when unknown
 * @param shape the shape, or null when even the rank is unknown
 */
public record ModelInput(String name, DataType elemType, Shape shape) {

    /**
     * NOTE: old exporters (IR version < 4) list initializers among the graph inputs; those are
     * weights with defaults, not data, so they are left out here.
     *
     * @param model the model
     * @return the inputs that data must feed, in graph order
     */
    public static List<ModelInput> all(Model model) {
        List<ModelInput> out = new ArrayList<>();
        for (Value v : model.graph().inputs()) {
            if (!v.isInitializer()) {
                out.add(new ModelInput(v.name(), v.elemType(), v.shape()));
            }
        }
        return out;
    }

    /**
     * @param model the model
     * @param requested the input named by {@code --input}, or null
     * @return the input a single-tensor data source feeds
     * @throws DatasetException if the requested input does not exist, or none was requested and the
     *     model has several; the message lists the names
     */
    public static ModelInput select(Model model, String requested) throws DatasetException {
        List<ModelInput> inputs = all(model);
        List<String> names = inputs.stream().map(ModelInput::name).toList();
        if (requested != null) {
            return inputs.stream().filter(i -> i.name.equals(requested)).findFirst()
                    .orElseThrow(() -> new DatasetException("the model has no input '" + requested + "'; its inputs are " + names));
        }
        if (inputs.size() != 1) {
            throw new DatasetException("the model has " + inputs.size() + " inputs " + names
                    + "; name the one the data feeds with --input");
        }
        return inputs.get(0);
    }

    /**
     * @param axis index into the shape
     * @return the known size at that axis, or -1 when the rank or the size is unknown
     */
    public long knownDim(int axis) {
        if (shape == null || axis >= shape.rank()) {
            return -1;
        }
        Dim d = shape.dim(axis);
        return d.isKnown() ? d.value() : -1;
    }

    /** @return the rank, or -1 when unknown */
    public int rank() {
        return shape == null ? -1 : shape.rank();
    }
}
