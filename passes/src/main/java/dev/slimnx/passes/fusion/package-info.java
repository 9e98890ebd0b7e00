/** Fusions: passes that replace a pattern of nodes by fewer, equivalent ones. */
package dev.slimnx.passes.fusion;
