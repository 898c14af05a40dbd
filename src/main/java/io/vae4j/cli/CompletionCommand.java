package io.vae4j.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** ./vae4j completion bash: the shell completion script of every command and option. */
@Command(name = "completion",
        description = "Print a bash completion script for ./vae4j (zsh reads it after bashcompinit).",
        customSynopsis = "./vae4j completion bash",
        footer = {
                "  source <(./vae4j completion bash)                  # this shell",
                "  ./vae4j completion bash > ~/.local/share/bash-completion/completions/vae4j"})
final class CompletionCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "SHELL", defaultValue = "bash",
            completionCandidates = Choices.Shells.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    private String shell;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        if (!shell.equals("bash")) {
            throw new UsageException("completion writes bash scripts (zsh: autoload bashcompinit; bashcompinit),"
                    + " not '" + shell + "'");
        }
        spec.commandLine().getOut().print(AutoComplete.bash("vae4j", spec.root().commandLine()));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
