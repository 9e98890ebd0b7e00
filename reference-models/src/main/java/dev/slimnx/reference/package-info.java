/**
 * The reference models: small, trained versions of the vision-transformer family slimnx is built
 * around, described by {@code reference-models/manifest.json}, with their evaluation data.
 */
package dev.slimnx.reference;
