"""The house rule on module docstrings: one to three lines saying what a module is for and why, each at most 120
characters; longer reasoning belongs in docs/design.md, which the docstring cites."""

from __future__ import annotations

import ast
from pathlib import Path

import bwdesk

PACKAGE = Path(bwdesk.__file__).resolve().parent
MAX_LINES = 3
MAX_WIDTH = 120


def docstring_problem(source: str) -> str | None:
    """What is wrong with the module docstring of `source`, or None. Widths are of the source lines, quotes
    included."""
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=False)
    if docstring is None or not docstring.strip():
        return "has no module docstring"
    lines = docstring.splitlines()
    if not lines[0].strip():
        return "starts its docstring with an empty line"
    if len(lines) > MAX_LINES:
        return f"has a module docstring of {len(lines)} lines (at most {MAX_LINES})"
    node = tree.body[0]
    written = source.splitlines()[node.lineno - 1 : node.end_lineno]
    if too_wide := [line for line in written if len(line) > MAX_WIDTH]:
        return f"has a docstring line of {len(too_wide[0])} characters (at most {MAX_WIDTH})"
    return None


def test_every_module_has_a_docstring_of_one_to_three_lines() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert PACKAGE / "cli.py" in modules and PACKAGE / "core" / "team" / "store.py" in modules
    problems = [
        f"{path.relative_to(PACKAGE.parent)} {problem}"
        for path in modules
        if (problem := docstring_problem(path.read_text(encoding="utf-8")))
    ]
    assert not problems, "\n".join(problems)


def test_the_rule_tells_each_kind_of_problem() -> None:
    assert docstring_problem('"""What and why (docs/design.md §9.5)."""\n') is None
    assert docstring_problem('"""One.\nTwo.\nThree.\n"""\n') is None
    assert docstring_problem("import os\n") == "has no module docstring"
    assert docstring_problem('"""\nWhat."""\n') == "starts its docstring with an empty line"
    assert (
        docstring_problem('"""One.\n\nThree.\nFour."""\n') == "has a module docstring of 4 lines (at most 3)"
    )
    assert docstring_problem(f'"""{"x" * 114}"""\n') is None
    assert docstring_problem(f'"""{"x" * 115}"""\n') == "has a docstring line of 121 characters (at most 120)"
