package dev.slimnx.graph;

import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.StringPair;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A model-local function ({@code FunctionProto}): a named operator whose body is a graph. The body's
 * inputs and outputs are untyped values; its nodes may use attribute references
 * ({@link Attribute#refAttrName()}) to the function's attributes.
 */
public final class Function {
    private String name;
    private String domain;
    private String overload = "";
    private final Graph body;
    private List<String> attributeNames = List.of();
    private List<Attribute> attributeDefaults = List.of();
    private List<OpsetId> opsetImports = new ArrayList<>();
    private String docString = "";
    private List<StringPair> metadata = List.of();
    private OpaqueFields extra = OpaqueFields.NONE;

    /**
     * @param domain function domain
     * @param name function (operator) name
     * @param body the body graph
     */
    public Function(String domain, String name, Graph body) {
        this.domain = Objects.requireNonNull(domain);
        this.name = Objects.requireNonNull(name);
        this.body = Objects.requireNonNull(body);
    }

    public String name() {
        return name;
    }

    public void setName(String name) {
        this.name = Objects.requireNonNull(name);
    }

    public String domain() {
        return domain;
    }

    public void setDomain(String domain) {
        this.domain = Objects.requireNonNull(domain);
    }

    public String overload() {
        return overload;
    }

    public void setOverload(String overload) {
        this.overload = Objects.requireNonNull(overload);
    }

    /** @return the body; its inputs and outputs are the function's */
    public Graph body() {
        return body;
    }

    /** @return names of attributes without defaults */
    public List<String> attributeNames() {
        return attributeNames;
    }

    public void setAttributeNames(List<String> names) {
        this.attributeNames = List.copyOf(names);
    }

    /** @return attributes with default values */
    public List<Attribute> attributeDefaults() {
        return attributeDefaults;
    }

    public void setAttributeDefaults(List<Attribute> defaults) {
        this.attributeDefaults = List.copyOf(defaults);
    }

    /** @return opset imports of the body, modifiable */
    public List<OpsetId> opsetImports() {
        return opsetImports;
    }

    public String docString() {
        return docString;
    }

    public void setDocString(String docString) {
        this.docString = Objects.requireNonNull(docString);
    }

    public List<StringPair> metadata() {
        return metadata;
    }

    public void setMetadata(List<StringPair> metadata) {
        this.metadata = List.copyOf(metadata);
    }

    public OpaqueFields extra() {
        return extra;
    }

    public void setExtra(OpaqueFields extra) {
        this.extra = Objects.requireNonNull(extra);
    }
}
