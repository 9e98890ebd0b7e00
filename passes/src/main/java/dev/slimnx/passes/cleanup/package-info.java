/** Lossless cleanups: passes that remove or fold work without changing outputs. */
package dev.slimnx.passes.cleanup;
