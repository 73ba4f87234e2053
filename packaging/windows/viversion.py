"""Print a Python package version as the four numbers a Windows version resource needs: 1.2rc1 -> 1.2.0.0."""

from __future__ import annotations

import re
import sys


def four_numbers(version: str) -> str:
    release = re.match(r"\d+(?:\.\d+)*", version.strip())
    if release is None:
        raise SystemExit(f"viversion: {version!r} does not start with a release number")
    numbers = [int(part) for part in release.group(0).split(".")][:4]
    if any(n > 65535 for n in numbers):
        raise SystemExit(f"viversion: {version!r} has a part above 65535")
    return ".".join(str(n) for n in numbers + [0] * (4 - len(numbers)))


if __name__ == "__main__":
    print(four_numbers(sys.argv[1]))
