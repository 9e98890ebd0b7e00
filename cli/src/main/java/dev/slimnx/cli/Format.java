package dev.slimnx.cli;

import java.util.Locale;

/** Number formatting for tables a person reads. */
final class Format {
    private Format() {
    }

    /** @return bytes with a binary unit: {@code 4.9 MiB} */
    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** @return a count with a decimal unit: {@code 5.72 M} */
    static String count(long n) {
        if (n < 10_000) {
            return Long.toString(n);
        }
        String[] units = {"k", "M", "G", "T"};
        double v = n;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }

    /** @return a count with thousands separators: {@code 5,717,416} */
    static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
