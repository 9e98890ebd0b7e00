package dev.slimnx.validate.report;

import java.util.Locale;

/** Number formats of everything slimnx prints for people: reports and the command line. */
public final class Numbers {
    private Numbers() {
    }

    static String pct(double fraction) {
        return Double.isNaN(fraction) ? "n/a" : String.format(Locale.ROOT, "%.2f%%", 100 * fraction);
    }

    static String points(double fraction) {
        return Double.isNaN(fraction) ? "n/a" : String.format(Locale.ROOT, "%+.2f", 100 * fraction);
    }

    static String fixed(double v, int digits) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "∞" : "-∞";
        }
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    static String sci(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        return v == 0 ? "0" : String.format(Locale.ROOT, "%.3g", v);
    }

    /** @return a count with a decimal unit: {@code 5.72 M} */
    public static String count(long n) {
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

    /** @return bytes with a binary unit: {@code 4.9 MiB} */
    public static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static String ratio(double r) {
        return Double.isNaN(r) ? "n/a" : String.format(Locale.ROOT, "%.3f×", r);
    }
}
