package dev.slimnx.validate.data;

/**
 * The SplitMix64 generator (Steele, Lea and Flood, 2014), the one source of randomness of the
 * deterministic reference data sets. It is specified bit for bit so that the Python recipes that
 * trained the models and this Java code build identical data:
 * {@code state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9;
 * z = (z ^ (z >>> 27)) * 0x94D049BB133111EB; return z ^ (z >>> 31)}, all modulo 2^64.
 */
public final class SplitMix64 {
    private long state;

    /** @param seed the initial state */
    public SplitMix64(long seed) {
        this.state = seed;
    }

    /** @return the next 64 random bits */
    public long next() {
        state += 0x9E3779B97F4A7C15L;
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * @param n bound, positive
     * @return {@code next()} as unsigned, modulo n (the recipes' rule; slightly biased, and that is fine)
     */
    public int below(int n) {
        return (int) Long.remainderUnsigned(next(), n);
    }
}
