package dev.slimnx.graph;

import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.StringPair;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An ONNX model: the main graph with the model-level facts around it (IR version, opset imports,
 * producer, metadata, model-local functions). Training info and device configurations are kept as
 * encoded messages: slimnx does not rewrite them, but a round trip keeps them.
 */
public final class Model {
    private long irVersion;
    private final List<OpsetId> opsetImports = new ArrayList<>();
    private String producerName = "";
    private String producerVersion = "";
    private String domain = "";
    private long modelVersion;
    private String docString = "";
    private Graph graph;
    private List<StringPair> metadata = List.of();
    private List<OpaqueFields> trainingInfo = List.of();
    private final List<Function> functions = new ArrayList<>();
    private List<OpaqueFields> configuration = List.of();
    private OpaqueFields extra = OpaqueFields.NONE;
    private Path source;

    /**
     * @param irVersion ONNX IR version
     * @param graph the main graph
     */
    public Model(long irVersion, Graph graph) {
        this.irVersion = irVersion;
        this.graph = Objects.requireNonNull(graph);
    }

    public long irVersion() {
        return irVersion;
    }

    public void setIrVersion(long irVersion) {
        this.irVersion = irVersion;
    }

    /** @return opset imports in file order, modifiable */
    public List<OpsetId> opsetImports() {
        return opsetImports;
    }

    /**
     * @param opsetDomain a domain; {@code ""} and {@code ai.onnx} are the same
     * @return the imported version, or -1 if the domain is not imported
     */
    public long opsetVersion(String opsetDomain) {
        boolean onnx = opsetDomain.isEmpty() || opsetDomain.equals("ai.onnx");
        for (OpsetId id : opsetImports) {
            if (onnx ? id.isOnnxDomain() : id.domain().equals(opsetDomain)) {
                return id.version();
            }
        }
        return -1;
    }

    /**
     * Imports a domain at a version, or changes the version of an existing import.
     *
     * @param opsetDomain domain
     * @param version version
     */
    public void setOpsetVersion(String opsetDomain, long version) {
        for (int i = 0; i < opsetImports.size(); i++) {
            OpsetId id = opsetImports.get(i);
            if (id.domain().equals(opsetDomain)) {
                opsetImports.set(i, new OpsetId(opsetDomain, version, id.extra()));
                return;
            }
        }
        opsetImports.add(OpsetId.of(opsetDomain, version));
    }

    public String producerName() {
        return producerName;
    }

    public void setProducerName(String producerName) {
        this.producerName = Objects.requireNonNull(producerName);
    }

    public String producerVersion() {
        return producerVersion;
    }

    public void setProducerVersion(String producerVersion) {
        this.producerVersion = Objects.requireNonNull(producerVersion);
    }

    public String domain() {
        return domain;
    }

    public void setDomain(String domain) {
        this.domain = Objects.requireNonNull(domain);
    }

    public long modelVersion() {
        return modelVersion;
    }

    public void setModelVersion(long modelVersion) {
        this.modelVersion = modelVersion;
    }

    public String docString() {
        return docString;
    }

    public void setDocString(String docString) {
        this.docString = Objects.requireNonNull(docString);
    }

    /** @return the main graph */
    public Graph graph() {
        return graph;
    }

    public void setGraph(Graph graph) {
        this.graph = Objects.requireNonNull(graph);
    }

    public List<StringPair> metadata() {
        return metadata;
    }

    public void setMetadata(List<StringPair> metadata) {
        this.metadata = List.copyOf(metadata);
    }

    /** @return encoded {@code TrainingInfoProto}s */
    public List<OpaqueFields> trainingInfo() {
        return trainingInfo;
    }

    public void setTrainingInfo(List<OpaqueFields> trainingInfo) {
        this.trainingInfo = List.copyOf(trainingInfo);
    }

    /** @return model-local functions, modifiable */
    public List<Function> functions() {
        return functions;
    }

    /** @return encoded {@code DeviceConfigurationProto}s */
    public List<OpaqueFields> configuration() {
        return configuration;
    }

    public void setConfiguration(List<OpaqueFields> configuration) {
        this.configuration = List.copyOf(configuration);
    }

    public OpaqueFields extra() {
        return extra;
    }

    public void setExtra(OpaqueFields extra) {
        this.extra = Objects.requireNonNull(extra);
    }

    /**
     * @return a deep copy: new graphs, values and nodes; tensors shared (they are immutable)
     */
    public Model copy() {
        return ModelCopier.copy(this);
    }

    /** @return the file this model was read from, or null */
    public Path source() {
        return source;
    }

    public void setSource(Path source) {
        this.source = source;
    }
}
