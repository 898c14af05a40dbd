package io.vae4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's help, version, suggestions and completion; and that the options of each command are the contract's. */
class HelpCliTest {
    /** Every command and the options it takes: the contract (README "Command line" and "Server"). */
    private static final Map<String, List<String>> OPTIONS = new LinkedHashMap<>();

    static {
        OPTIONS.put("info", List.of("--family", "--comfy-dir", "--download"));
        OPTIONS.put("decode", List.of("--model", "--comfy-dir", "--download", "--latent", "--out", "--raw", "--frames", "--family", "--threads", "--backend",
                "--precision", "--no-cache", "--max-pixels", "--preview-scale", "--tile", "--tiling", "--memory", "--bit-depth",
                "--scratch", "--attention", "--seed", "--noise", "--quiet", "--indices", "--no-quantize"));
        OPTIONS.put("encode", List.of("--model", "--comfy-dir", "--download", "--image", "--out", "--raw", "--moments", "--sample", "--seed",
                "--family", "--threads", "--backend", "--precision", "--no-cache", "--max-pixels", "--tile", "--tiling", "--memory",
                "--scratch", "--attention", "--quiet", "--indices"));
        OPTIONS.put("bench", List.of("--op", "--size", "--repeat", "--warmup", "--threads", "--backend",
                "--precision", "--no-cache", "--arch", "--latent-channels", "--model", "--family", "--scratch", "--attention",
                "--write-model", "--quiet"));
        OPTIONS.put("convert", List.of("--quiet"));
        OPTIONS.put("interpose", List.of("--model", "--comfy-dir", "--download", "--latent", "--out", "--threads",
                "--backend", "--precision", "--no-cache", "--quiet"));
        OPTIONS.put("preview", List.of("--latent", "--out", "--family", "--raw", "--scale", "--quiet"));
        OPTIONS.put("serve", List.of("--model", "--comfy-dir", "--download", "--family", "--host", "--port", "--max-concurrent", "--max-queue",
                "--threads", "--memory", "--backend", "--precision", "--request-timeout", "--drain-timeout",
                "--max-pixels", "--scratch", "--no-warmup", "--no-cache", "--quiet"));
        OPTIONS.put("models", List.of("--comfy-dir"));
        OPTIONS.put("completion", List.of());
    }

    private static final Pattern OPTION = Pattern.compile("--[a-z][a-z-]*");

    @TempDir
    Path tmp;

    @Test
    void everyCommandHasHelpWithEveryOptionItsDefaultAndExamples() {
        for (Map.Entry<String, List<String>> c : OPTIONS.entrySet()) {
            String command = c.getKey();
            for (String flag : new String[]{"--help", "-h"}) {
                CliTest.Result r = CliTest.run(command, flag);
                assertEquals(0, r.status(), command + " " + flag + ": " + r.err());
                assertEquals("", r.err(), command);
                String help = r.out();
                assertTrue(help.startsWith("Usage: ./vae4j " + command), help);
                // The synopsis names every option, and so does the option list, one line each.
                String synopsis = help.substring(0, help.indexOf("\n\n"));
                assertEquals(new TreeSet<>(c.getValue()), names(synopsis), command + " synopsis: " + synopsis);
                List<String> lines = section(help, "Options:");
                Set<String> listed = new TreeSet<>(c.getValue());
                listed.addAll(List.of("--help", "--version"));
                assertEquals(listed, names(String.join("\n", lines.stream().map(l -> l.substring(0,
                        Math.min(l.length(), 40))).toList())), command + " options:\n" + help);
                for (String line : lines) {
                    assertTrue(line.matches(" {2}(-[hV], )?\\s*--[a-z-]+.*"), "one line per option: '" + line + "'");
                    boolean takesValue = line.matches("\\s*--[a-z-]+=.*");
                    assertTrue(!takesValue || line.contains("(default: ") || line.contains("(required)")
                            || line.contains("required,"), "no default named: " + line);
                }
                List<String> examples = section(help, "Examples:");
                assertFalse(examples.isEmpty(), help);
                assertTrue(examples.stream().anyMatch(l -> l.contains("./vae4j " + command + " ")), help);
            }
        }
    }

    @Test
    void topLevelHelpListsEveryCommand() {
        for (String[] args : new String[][]{{"--help"}, {"-h"}, {"help"}}) {
            CliTest.Result r = CliTest.run(args);
            assertEquals(0, r.status(), r.err());
            List<String> commands = section(r.out(), "Commands:");
            for (String command : OPTIONS.keySet()) {
                assertTrue(commands.stream().anyMatch(l -> l.startsWith("  " + command + " ")), r.out());
            }
            assertTrue(r.out().contains("Examples:"), r.out());
        }
        CliTest.Result none = CliTest.run();
        assertEquals(2, none.status());
        assertTrue(none.out().startsWith("Usage: ./vae4j"), none.out());
        CliTest.Result decode = CliTest.run("help", "decode");
        assertEquals(0, decode.status());
        assertTrue(decode.out().startsWith("Usage: ./vae4j decode") && decode.out().contains("--latent"));
    }

    @Test
    void versionIsTheBuilds() {
        for (String flag : new String[]{"--version", "-V"}) {
            CliTest.Result r = CliTest.run(flag);
            assertEquals(0, r.status(), r.err());
            assertEquals("vae4j " + Version.version(), r.out().strip());
            assertTrue(r.out().strip().matches("vae4j \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), r.out());
        }
    }

    @Test
    void mistypedOptionsAndCommandsGetOneLineWithASuggestion() {
        assertBadCommandLine(CliTest.run("decode", "--lantent", "x"), "unknown option --lantent",
                "did you mean --latent?");
        assertBadCommandLine(CliTest.run("decode", "--lantent=x"), "unknown option --lantent", "--latent");
        assertBadCommandLine(CliTest.run("decode", "--mdoel", "m"), "unknown option --mdoel", "--model");
        assertBadCommandLine(CliTest.run("serve", "--prot", "80"), "unknown option --prot", "--port");
        assertBadCommandLine(CliTest.run("decod"), "unknown command 'decod'", "decode");
        assertBadCommandLine(CliTest.run("sreve"), "unknown command 'sreve'", "serve");
        assertBadCommandLine(CliTest.run("decode", "--bogus", "1"), "unknown option --bogus");
        assertBadCommandLine(CliTest.run("decode", "stray", "--latent", "x"), "unexpected argument 'stray'");
        assertBadCommandLine(CliTest.run("bench", "--repeat", "x"), "--repeat expects an integer, got 'x'");
        assertBadCommandLine(CliTest.run("encode", "--image"), "--image needs a value");
        assertBadCommandLine(CliTest.run("help", "nope"), "nope");
        assertBadCommandLine(CliTest.run("completion", "fish"), "'fish'");
    }

    private static void assertBadCommandLine(CliTest.Result r, String... fragments) {
        assertEquals(2, r.status(), r.err());
        List<String> errors = r.err().lines().filter(l -> l.startsWith("vae4j: ")).toList();
        assertEquals(1, errors.size(), "one error line: " + r.err());
        for (String f : fragments) {
            assertTrue(errors.getFirst().contains(f), "expected '" + f + "' in: " + r.err());
        }
        assertTrue(r.err().contains("usage: ./vae4j"), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
    }

    @Test
    void completionPrintsABashScript() {
        CliTest.Result r = CliTest.run("completion", "bash");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("complete -F _complete_vae4j"), r.out());
        for (String command : OPTIONS.keySet()) {
            assertTrue(r.out().contains("_picocli_vae4j_" + command + "()"), command);
        }
        assertTrue(r.out().contains("'--latent'") && r.out().contains("(\"auto\" \"fast\" \"exact\" \"off\")"));
        assertEquals(r.out(), CliTest.run("completion").out());
    }

    /** {@code --name=value} as well as {@code --name value}; a repeated option's last value wins, as before. */
    @Test
    void optionValuesAttachedOrNotAndRepeated() {
        Path model = tmp.resolve("random.safetensors");
        CliTest.Result r = CliTest.run("bench", "--arch", "kl", "--arch=taesd", "--latent-channels", "4",
                "--write-model=" + model, "--quiet");
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.isRegularFile(model));
        r = CliTest.run("info", model.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("TAESD") || r.out().contains("taesd"), r.out());
    }

    @Test
    void suggestionsAreCloseOptions() {
        assertEquals(0, Failures.edits("--port", "--port"));
        assertEquals(1, Failures.edits("--prot", "--port"));
        assertEquals(2, Failures.edits("--mdoel", "--modle"));
        assertEquals(2, Failures.edits("--out", "--op"));
        assertTrue(Failures.edits("--model", "--latent") > 2);
    }

    private static Set<String> names(String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = OPTION.matcher(text);
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }

    /** The lines under a heading, up to the next blank line. */
    private static List<String> section(String help, String heading) {
        List<String> lines = new ArrayList<>();
        boolean in = false;
        for (String line : help.lines().toList()) {
            if (line.equals(heading)) {
                in = true;
            } else if (in && line.isBlank()) {
                break;
            } else if (in) {
                lines.add(line);
            }
        }
        return lines;
    }
}
