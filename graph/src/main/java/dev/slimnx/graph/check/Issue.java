package dev.slimnx.graph.check;

import java.util.Objects;

/**
 * One thing the {@link GraphChecker} found wrong (or suspicious) in a model.
 *
 * @param severity ERROR for what makes the model invalid ONNX, WARNING for what slimnx cannot
 *     vouch for (an op outside its schema table) or what is legal but likely a mistake
 * @param graphPath where: {@code graph 'main'}, {@code graph 'main' > node #3 (Loop 'l').body}, or
 *     {@code function 'custom::Foo'}
 * @param nodeIndex index of the node in its graph, or -1 when the issue is not about a node
 * @param node the node as {@code OpType 'name'}, empty when not about a node
 * @param message what is wrong, naming the values, attributes or versions involved
 */
public record Issue(Severity severity, String graphPath, int nodeIndex, String node, String message) {

    /** How bad an issue is. */
    public enum Severity { ERROR, WARNING }

    public Issue {
        Objects.requireNonNull(severity);
        Objects.requireNonNull(graphPath);
        Objects.requireNonNull(node);
        Objects.requireNonNull(message);
    }

    /** @return true for an ERROR */
    public boolean isError() {
        return severity == Severity.ERROR;
    }

    @Override
    public String toString() {
        String where = nodeIndex >= 0 ? graphPath + ", node #" + nodeIndex + " (" + node + ")" : graphPath;
        return severity + " in " + where + ": " + message;
    }
}
