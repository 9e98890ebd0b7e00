/** Building models in code: {@link dev.slimnx.graph.build.GraphBuilder}, for tests and for passes that assemble graphs. */
package dev.slimnx.graph.build;
