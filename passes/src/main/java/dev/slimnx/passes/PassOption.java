package dev.slimnx.passes;

/**
 * One option of a registered pass, as the CLI and recipes see it.
 *
 * @param name the key, e.g. {@code max-bytes}
 * @param description what it does, one line
 * @param defaultValue the value used when the option is not given, as text
 */
public record PassOption(String name, String description, String defaultValue) {
}
