package dev.slimnx.cli;

import dev.slimnx.validate.report.Numbers;
import java.util.Locale;

/** Number formatting for tables a person reads; the units are the reports' ({@link Numbers}). */
final class Format {
    private Format() {
    }

    /** @return bytes with a binary unit: {@code 4.9 MiB} */
    static String bytes(long bytes) {
        return Numbers.bytes(bytes);
    }

    /** @return a count with a decimal unit: {@code 5.72 M} */
    static String count(long n) {
        return Numbers.count(n);
    }

    /** @return a count with thousands separators: {@code 5,717,416} */
    static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
