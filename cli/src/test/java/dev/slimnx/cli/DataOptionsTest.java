package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.slimnx.validate.data.DataSpec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

class DataOptionsTest {
    /** A command that names its source {@code --calib}, as quantize will. */
    @Command(name = "calibrate")
    static final class Calibrate implements Callable<Integer> {
        @Option(names = "--calib")
        Path calib;

        @Mixin
        DataOptions data;

        DataSpec spec;

        @Override
        public Integer call() {
            spec = data.toSpec(calib);
            return ExitCode.OK;
        }
    }

    private static DataSpec parse(String... args) {
        Calibrate c = new Calibrate();
        new CommandLine(c).parseArgs(args);
        return c.data.toSpec(c.calib);
    }

    private static String error(String... args) {
        return assertThrows(UserError.class, () -> parse(args)).getMessage();
    }

    @Test
    void everyOptionReachesTheSpec() {
        DataSpec s = parse("--calib", "data/x.npz", "--mean", "0.485,0.456,0.406", "--std", "0.229, 0.224,0.225",
                "--scale", "1/255", "--resize", "256", "--crop", "224", "--layout", "nhwc", "--limit", "500",
                "--split", "train", "--input", "pixels", "--shape", "pixels=1x3x224x224", "--shape", "mask=1x196", "--seed", "42");
        assertEquals(Path.of("data/x.npz"), s.source());
        assertEquals(List.of(0.485, 0.456, 0.406), s.mean());
        assertEquals(List.of(0.229, 0.224, 0.225), s.std());
        assertEquals(1.0 / 255, s.scale(), 0);
        assertEquals(256, s.resize());
        assertEquals(224, s.crop());
        assertEquals("NHWC", s.layout());
        assertEquals(500, s.limit());
        assertEquals("train", s.split());
        assertEquals("pixels", s.input());
        assertArrayEquals(new long[] {1, 3, 224, 224}, s.shapes().get("pixels"));
        assertArrayEquals(new long[] {1, 196}, s.shapes().get("mask"));
        assertEquals(42, s.seed());
    }

    @Test
    void withoutOptionsTheDefaultsApplyAndNoSourceMeansSynthetic() {
        DataSpec s = parse();
        assertNull(s.source());
        assertNull(s.split());
        assertEquals(1.0 / 255, s.scale(), 0);
        assertEquals(List.of(0.0), s.mean());
        assertEquals(List.of(1.0), s.std());
        assertEquals("NCHW", s.layout());
        assertEquals(0, s.limit());
        assertEquals(Map.of(), s.shapes());
    }

    @Test
    void givenOptionsOverrideOtherDefaultsAndTheRestKeepThem() {
        Calibrate c = new Calibrate();
        new CommandLine(c).parseArgs("--limit", "10");
        DataSpec manifest = new DataSpec(null, "test", 1.0 / 255, List.of(0.2860), List.of(0.3530), 0, 0, "NCHW", 0, null, Map.of(), 0);
        DataSpec s = c.data.toSpec(Path.of("d"), manifest);
        assertEquals(10, s.limit());
        assertEquals(List.of(0.2860), s.mean());
        assertEquals("test", s.split());
    }

    @Test
    void badValuesAreOneLineErrorsNamingTheOption() {
        assertEquals("--scale: '1/x' is not a number (write e.g. 0.5 or 1/255)", error("--scale", "1/x"));
        assertEquals("--scale must be positive, got 0", error("--scale", "0"));
        assertEquals("--mean: '' is not a number (write e.g. 0.5 or 1/255)", error("--mean", "0.5,"));
        assertEquals("--std values must be positive, got 0.2,0", error("--std", "0.2,0"));
        assertEquals("--layout must be nchw or nhwc, got 'chw'", error("--layout", "chw"));
        assertEquals("--split must be train or test, got 'val'", error("--split", "val"));
        assertEquals("--limit must be >= 0, got -1", error("--limit", "-1"));
        assertEquals("--crop 256 is larger than --resize 224 (the shorter side after resizing)", error("--resize", "224", "--crop", "256"));
        assertEquals("--shape must be NAME=DIMS such as pixels=1x3x224x224, got 'pixels'", error("--shape", "pixels"));
        assertEquals("--shape pixels: '0' is not a positive size (write e.g. pixels=1x3x224x224)", error("--shape", "pixels=1x0x2"));
        assertEquals("--shape gives 'a' twice", error("--shape", "a=1", "--shape", "a=2"));
    }

    @Test
    void aBadValueExitsWithCodeTwoAndOneLine() {
        // Mounted under slimnx, as the real commands are, so the message names the full command path.
        CommandLine cl = new CommandLine(new SlimnxCommand()).addSubcommand("calibrate", new Calibrate())
                .setExecutionExceptionHandler(new ErrorHandler());
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        assertEquals(ExitCode.BAD_INPUT, cl.execute("calibrate", "--layout", "chw"));
        assertEquals("slimnx calibrate: --layout must be nchw or nhwc, got 'chw'" + System.lineSeparator(), err.toString());
    }
}
