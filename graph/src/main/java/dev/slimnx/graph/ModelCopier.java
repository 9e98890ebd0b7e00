package dev.slimnx.graph;

import dev.slimnx.graph.tensor.SparseTensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Deep copies of models. Graph structure (values, nodes, subgraphs, functions) is new; tensors are
 * shared, since they are immutable, so a copy of a 300 MB model costs only its graph structure.
 * This is what a calibration copy, a teacher beside its student, or a gradient graph built next to
 * the forward one start from.
 */
final class ModelCopier {
    private final Map<Value, Value> values = new IdentityHashMap<>();

    private ModelCopier() {
    }

    static Model copy(Model m) {
        ModelCopier c = new ModelCopier();
        Model out = new Model(m.irVersion(), c.graph(m.graph()));
        out.opsetImports().addAll(m.opsetImports());
        out.setProducerName(m.producerName());
        out.setProducerVersion(m.producerVersion());
        out.setDomain(m.domain());
        out.setModelVersion(m.modelVersion());
        out.setDocString(m.docString());
        out.setMetadata(m.metadata());
        out.setTrainingInfo(m.trainingInfo());
        out.setConfiguration(m.configuration());
        out.setExtra(m.extra());
        out.setSource(m.source());
        for (Function f : m.functions()) {
            out.functions().add(new ModelCopier().function(f));
        }
        return out;
    }

    private Function function(Function f) {
        Function out = new Function(f.domain(), f.name(), graph(f.body()));
        out.setOverload(f.overload());
        out.setAttributeNames(f.attributeNames());
        out.setAttributeDefaults(f.attributeDefaults().stream().map(this::attribute).toList());
        out.opsetImports().addAll(f.opsetImports());
        out.setDocString(f.docString());
        out.setMetadata(f.metadata());
        out.setExtra(f.extra());
        return out;
    }

    private Graph graph(Graph src) {
        Graph dst = new Graph();
        dst.setName(src.name());
        dst.setDocString(src.docString());
        dst.setMetadata(src.metadata());
        dst.setExtra(src.extra());
        for (Value v : src.inputs()) {
            dst.addInput(value(v));
        }
        for (Value v : src.initializers()) {
            Value nv = values.containsKey(v) ? values.get(v) : value(v);
            dst.addInitializer(nv, v.initializer());
        }
        for (Value v : src.sparseInitializers()) {
            Value nv = values.containsKey(v) ? values.get(v) : value(v);
            SparseTensor st = v.sparseInitializer();
            dst.addSparseInitializer(nv, st);
        }
        // Outputs first for every node, so graphs listed out of order copy as they are.
        List<List<Value>> outputs = new ArrayList<>();
        for (Node n : src.nodes()) {
            List<Value> outs = new ArrayList<>();
            for (Value v : n.outputs()) {
                outs.add(value(v));
            }
            outputs.add(outs);
        }
        for (int i = 0; i < src.nodes().size(); i++) {
            Node n = src.nodes().get(i);
            List<Value> ins = new ArrayList<>();
            for (Value v : n.inputs()) {
                ins.add(v == null ? null : mapped(v));
            }
            Node copy = new Node(n.domain(), n.opType(), ins, outputs.get(i), List.of());
            copy.setName(n.name());
            copy.setOverload(n.overload());
            copy.setDocString(n.docString());
            copy.setMetadata(n.metadata());
            copy.setDeviceConfigurations(n.deviceConfigurations());
            copy.setExtra(n.extra());
            dst.addNode(copy);
            for (Attribute a : n.attributes()) {
                copy.appendAttribute(attribute(a));
            }
        }
        for (Value v : src.outputs()) {
            dst.addOutput(mapped(v));
        }
        for (Value v : src.valueInfos()) {
            dst.valueInfos().add(values.containsKey(v) ? values.get(v) : value(v));
        }
        dst.setQuantizationAnnotations(src.quantizationAnnotations());
        return dst;
    }

    /** A value defined outside the copied graphs (never the case in a whole model) maps to itself. */
    private Value mapped(Value v) {
        return values.getOrDefault(v, v);
    }

    private Value value(Value v) {
        Value nv = new Value(v.name(), v.type());
        nv.setDocString(v.docString());
        nv.setMetadata(v.metadata());
        nv.setExtra(v.extra());
        values.put(v, nv);
        return nv;
    }

    private Attribute attribute(Attribute a) {
        Object value = a.value();
        Object copied = switch (a.kind()) {
            case GRAPH -> value == null ? null : graph((Graph) value);
            case GRAPHS -> {
                List<Graph> gs = new ArrayList<>();
                for (Object g : (List<?>) value) {
                    gs.add(graph((Graph) g));
                }
                yield gs;
            }
            default -> value;
        };
        return copied == value ? a
                : new Attribute(a.name(), a.kind(), a.typeCode(), copied, a.refAttrName(), a.docString(), a.extra());
    }
}
