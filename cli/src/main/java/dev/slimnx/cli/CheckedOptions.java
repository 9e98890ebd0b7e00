package dev.slimnx.cli;

/**
 * A command whose option values can be checked without reading or writing anything. A recipe
 * ({@link RunCommand}) parses every step into its command and calls this before the first step
 * runs, so a bad value in the last step fails before any work.
 */
interface CheckedOptions {
    /**
     * Checks the option values as parsed; reads no file.
     *
     * @throws UserError naming the option ({@code --ffn-ratio must be ...}) when a value is refused
     */
    void checkOptions();
}
