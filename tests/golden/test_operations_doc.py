"""Every `sluicectl` (and `sluiced`) command in docs/OPERATIONS.md exists and parses: the
subcommand has a `--help`, and each flag the doc gives it is one that help names. The commands
are read from the doc's fenced code blocks (continuation lines joined, comments and shell
redirections cut), wherever they appear in a line (`a && sluicectl b`, `$(sluicectl c)`), so a
renamed command or flag breaks this test, not an operator's day."""

import re
import shlex
import subprocess

import pytest

from conftest import SLUICECTL, SLUICED, SOURCE_DIR

DOC = SOURCE_DIR / "docs" / "OPERATIONS.md"
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "2>&1", "&"}


def _code_lines(text):
    """The lines of every fenced code block, backslash continuations joined."""
    lines, block, pending = [], False, ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            block = not block
            continue
        if not block:
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return lines


def _commands(program):
    """(line, [args after the program]) for each use of `program` in the doc's code."""
    found = []
    for line in _code_lines(DOC.read_text()):
        try:
            tokens = shlex.split(line.replace("$(", " ").replace(")", " ").replace(";", " ; "), comments=True)
        except ValueError:
            continue
        for i, token in enumerate(tokens):
            if token.split("/")[-1] != program:
                continue
            args = []
            for arg in tokens[i + 1:]:
                if arg in SHELL_OPERATORS or re.match(r"^\d?>", arg):
                    break
                args.append(arg)
            found.append((line, args))
    return found


SLUICECTL_COMMANDS = _commands("sluicectl")
SLUICED_COMMANDS = _commands("sluiced")


def _help(binary, *args):
    proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout + proc.stderr


def _flags(args):
    return [arg.split("=", 1)[0] for arg in args if arg.startswith("--")]


def test_the_doc_walks_through_every_step_of_the_day():
    text = DOC.read_text()
    for heading in ("Deploy", "Dry run", "Read the denials", "Suggest", "Enforce", "An alert fires",
                    "Drain and upgrade"):
        assert re.search(rf"^### .*{heading}", text, re.M), heading
    used = {args[0] for _, args in SLUICECTL_COMMANDS if args}
    assert {"validate", "diff", "denials", "suggest", "drain", "stats"} <= used, used


@pytest.mark.parametrize("line,args", SLUICECTL_COMMANDS, ids=[line for line, _ in SLUICECTL_COMMANDS])
def test_sluicectl_command_parses(line, args):
    assert args, f"{line}: sluicectl without a command"
    if args[0] == "--version":
        assert _help(SLUICECTL, "--version")[0] == 0
        return
    command = args[0]
    status, usage = _help(SLUICECTL, command, "--help")
    assert status == 0, f"{line}: `sluicectl {command} --help` exits {status}: {usage}"
    for flag in _flags(args[1:]):
        assert re.search(rf"(^|[\s\[|]){re.escape(flag)}\b", usage), f"{line}: {command} has no {flag}:\n{usage}"


@pytest.mark.parametrize("line,args", SLUICED_COMMANDS, ids=[line for line, _ in SLUICED_COMMANDS])
def test_sluiced_command_parses(line, args):
    status, usage = _help(SLUICED, "--help")
    assert status == 0
    for flag in _flags(args):
        assert re.search(rf"(^|[\s\[|]){re.escape(flag)}\b", usage), f"{line}: sluiced has no {flag}:\n{usage}"


def test_a_renamed_flag_would_be_caught():
    """The check can fail: a flag no command has is not in its help."""
    _, usage = _help(SLUICECTL, "diff", "--help")
    assert re.search(r"(^|[\s\[|])--pcap\b", usage)
    assert not re.search(r"(^|[\s\[|])--capture\b", usage)
