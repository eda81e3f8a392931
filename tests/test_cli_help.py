"""Every command, sub-command and option of the ``gandistill`` CLI has a help text (so --help stays complete)."""
from __future__ import annotations

import argparse
import re

import pytest

from gandistill.cli.main import build_parser


def _walk(parser: argparse.ArgumentParser, path: str = "gandistill"):
    """Yield (command path, parser) for the parser and every sub-parser below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")


PARSERS = list(_walk(build_parser()))


def test_every_stage_is_registered():
    names = {path.split()[1] for path, _ in PARSERS if len(path.split()) > 1}
    assert {"data", "teacher", "triplets", "kdit", "gpd", "evaluate", "translate", "demo"} <= names


@pytest.mark.parametrize("path,parser", PARSERS, ids=[p for p, _ in PARSERS])
def test_help_is_complete(path, parser):
    text = parser.format_help()  # also catches stray "%" in help strings, which argparse would choke on
    assert text.strip()
    problems = []
    if path != "gandistill" and not (parser.description or "").strip():
        problems.append("no description")
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            listed = {a.dest: (a.help or "").strip() for a in action._choices_actions}
            problems += [f"sub-command {name!r} has no one-line help" for name in action.choices if not listed.get(name)]
            continue
        name = "/".join(action.option_strings) or action.dest
        help_text = (action.help or "").strip()
        # add_dataclass_args appends "(default: …)"; that alone does not say what the option does
        if not help_text or help_text == argparse.SUPPRESS or re.fullmatch(r"\(default: [^)]*\)", help_text):
            problems.append(f"option {name} has no help")
    assert not problems, f"`{path} --help` is incomplete: " + "; ".join(problems)
