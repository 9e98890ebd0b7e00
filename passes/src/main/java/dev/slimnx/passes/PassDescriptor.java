package dev.slimnx.passes;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * How the CLI and recipes find a pass: its id, what it does, whether it keeps outputs equal, its
 * options with defaults, and how to build it from option values.
 *
 * @param id the pass id
 * @param summary what the pass does, one line
 * @param lossless true when outputs stay equal within the lossless tolerance
 * @param options the options it takes
 * @param factory builds the pass from checked option values (it may throw
 *     IllegalArgumentException for values its options record rejects)
 */
public record PassDescriptor(String id, String summary, boolean lossless, List<PassOption> options,
                             Function<PassOptions, Pass> factory) {
    public PassDescriptor {
        options = List.copyOf(options);
    }

    /**
     * @param given option values by name; missing ones take their defaults
     * @return the configured pass
     * @throws IllegalArgumentException for an unknown option or a bad value, naming both
     */
    public Pass create(Map<String, String> given) {
        return factory.apply(new PassOptions(this, given));
    }
}
