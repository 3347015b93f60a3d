#!/usr/bin/env python3
"""Walk sluicectl's command tree through its own --help output, so that what is generated from it
(bash completion, the man page's COMMANDS section) cannot drift from the command registry.

  sluicectl_cli.py SLUICECTL completion OUT    bash completion for sluicectl
  sluicectl_cli.py SLUICECTL man-include OUT   a help2man --include file: [COMMANDS], each group's
                                               and each command's --help

The walk: `sluicectl --help` lists the top-level words and the global options; `sluicectl WORDS
--help` either prints "Usage: sluicectl WORDS COMMAND ..." (a group: its "Commands:" list is
walked in turn) or a command's usage, description and options. Any other output stops the build
with the command that produced it.
"""
import re
import subprocess
import sys

# Boost's option tables: "  -h [ --help ]   text", "  --json   text", "  --timeout SECONDS (=10)".
OPTION = re.compile(r"^  (?:-\w \[ )?--([A-Za-z0-9][\w-]*)(?: \])?( \S+)?")
COMMAND = re.compile(r"^  (\S+)\s{2,}(.*)$")


def run_help(prog, words):
    cmd = [prog, *words, "--help"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"sluicectl_cli: '{' '.join(cmd)}' exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def commands_of(text):
    """The (name, summary) pairs of a "Commands:" block."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("Commands:"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            m = COMMAND.match(line)
            if m:
                out.append((m.group(1), m.group(2).strip()))
    return out


def options_of(text, with_value=False):
    """Every --long option in the option tables of a help text (the usage line is not one);
    with_value: only those that take a value."""
    opts = []
    for line in text.splitlines():
        m = OPTION.match(line)
        if m and "--" + m.group(1) not in opts and (m.group(2) or not with_value):
            opts.append("--" + m.group(1))
    return opts


def walk(prog):
    """-> (globals, groups {path: [children]}, commands {path: (summary, help, options)})."""
    top = run_help(prog, [])
    groups, commands, summaries = {"": []}, {}, {}
    pending = []
    for name, summary in commands_of(top):
        groups[""].append(name)
        summaries[name] = summary
        pending.append(name)
    while pending:
        path = pending.pop(0)
        text = run_help(prog, path.split())
        if text.startswith(f"Usage: sluicectl {path} COMMAND"):
            groups[path] = []
            for name, summary in commands_of(text):
                sub = f"{path} {name}"
                groups[path].append(name)
                summaries[sub] = summary
                pending.append(sub)
            commands[path] = (summaries[path], text, None)
        elif text.startswith("Usage: "):
            commands[path] = (summaries[path], text, options_of(text))
        else:
            sys.exit(f"sluicectl_cli: 'sluicectl {path} --help' printed no usage line: {text!r}")
    return options_of(top), options_of(top, True), groups, commands


def completion(prog):
    glob, valued, groups, commands = walk(prog)
    # Options that take a value (their help line names one): complete nothing after them except
    # for --dataplane and file-like values.
    lines = [
        "# bash completion for sluicectl. GENERATED at build time from sluicectl's own --help",
        "# (scripts/packaging/sluicectl_cli.py): do not edit.",
        "_sluicectl() {",
        "  local cur prev words cword",
        "  if declare -F _init_completion >/dev/null; then",
        "    _init_completion -n : || return",
        "  else",
        "    cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}",
        "    words=(\"${COMP_WORDS[@]}\") cword=$COMP_CWORD",
        "  fi",
        "  case $prev in",
        "    --dataplane)",
        "      local s",
        "      s=$(compgen -W 'dpdk: xdp:' -- \"$cur\")",
        "      if [[ $cur == dpdk:* ]]; then",
        "        s=$(compgen -P dpdk: -f -- \"${cur#dpdk:}\")",
        "      elif [[ $cur == xdp:* ]]; then",
        "        s=$(cd /sys/fs/bpf/sluice 2>/dev/null && compgen -P xdp: -d -- \"${cur#xdp:}\")",
        "      fi",
        "      mapfile -t COMPREPLY <<<\"$s\"; [[ -z $s ]] && COMPREPLY=()",
        "      compopt -o nospace 2>/dev/null",
        "      return ;;",
        f"    {'|'.join(v for v in valued if v != '--dataplane') or '--'}) return ;;",
        "  esac",
        "  # The command path so far: the words after the global options that name groups.",
        "  local i=1 path=",
        "  while [[ $i -lt $cword ]]; do",
        "    local w=${words[i]}",
        "    case $w in",
        f"      {'|'.join(valued) or '--'}) i=$((i + 2)); continue ;;",
        "      -*) i=$((i + 1)); continue ;;",
        "    esac",
        "    local next=${path:+$path }$w",
        "    if _sluicectl_is_node \"$next\"; then path=$next; i=$((i + 1)); else break; fi",
        "  done",
        "  local subs opts",
        "  subs=$(_sluicectl_children \"$path\")",
        "  opts=$(_sluicectl_options \"$path\")",
        "  if [[ -n $subs && $cur != -* ]]; then",
        "    mapfile -t COMPREPLY < <(compgen -W \"$subs\" -- \"$cur\")",
        "  elif [[ $cur == -* ]]; then",
        "    mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")",
        "  else",
        "    mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")",
        "    compopt -o filenames 2>/dev/null",
        "  fi",
        "}",
        "_sluicectl_is_node() {",
        "  case $1 in",
    ]
    nodes = sorted(commands)
    lines.append("    " + "|".join(f"'{n}'" for n in nodes) + ") return 0 ;;")
    lines += ["  esac", "  return 1", "}", "_sluicectl_children() {", "  case $1 in"]
    for path, kids in sorted(groups.items()):
        lines.append(f"    '{path}') echo '{' '.join(kids)}' ;;")
    lines += ["  esac", "}", "_sluicectl_options() {", "  case $1 in"]
    lines.append(f"    '') echo '{' '.join(glob)}' ;;")
    for path, (_, _, opts) in sorted(commands.items()):
        lines.append(f"    '{path}') echo '{' '.join(opts or ['--help', '--version'])}' ;;")
    lines += ["  esac", "}", "complete -F _sluicectl sluicectl", ""]
    return "\n".join(lines)


def man_escape(text):
    out = []
    for line in text.splitlines():
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def man_include(prog):
    _, _, groups, commands = walk(prog)
    parts = ["[COMMANDS]",
             "Every command answers \\fB\\-\\-help\\fR and \\fB\\-\\-version\\fR. The command "
             "tree, as each group's and command's \\fB\\-\\-help\\fR prints it:"]
    for path in sorted(commands):
        summary, text, _ = commands[path]
        parts.append(f".SS \"sluicectl {path}\"")
        parts.append(man_escape(summary))
        parts.append(".PP\n.nf\n" + man_escape(text.rstrip()) + "\n.fi")
    return "\n".join(parts) + "\n"


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in ("completion", "man-include"):
        sys.exit(__doc__)
    prog, mode, out = sys.argv[1:]
    text = completion(prog) if mode == "completion" else man_include(prog)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
