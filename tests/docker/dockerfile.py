"""Reads a Dockerfile into stages of (instruction, argument) pairs, for the checks here."""

import re


def instructions(text):
    """(KEYWORD, argument) pairs; continuation lines joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, argument = line.strip().partition(" ")
            out.append((keyword.upper(), argument.strip()))
    return out


def stages(steps):
    """Splits the instructions at each FROM; each stage starts with its FROM."""
    out = []
    for keyword, argument in steps:
        if keyword == "FROM":
            out.append([(keyword, argument)])
        elif out:
            out[-1].append((keyword, argument))
    return out


def read(path):
    with open(path) as f:
        return stages(instructions(f.read()))
