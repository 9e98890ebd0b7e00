/**
 * Validation reports: one record tree ({@link dev.slimnx.validate.report.ValidationReport}) that is
 * written as JSON (the versioned source of truth), Markdown, self-contained HTML and JUnit XML.
 */
package dev.slimnx.validate.report;
