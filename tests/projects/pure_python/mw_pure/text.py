"""Small text helpers."""

import re
from collections import Counter
from importlib import resources
from typing import Dict, List


def slugify(text: str) -> str:
    """Lower-case words joined by '-'."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def count_words(text: str) -> Dict[str, int]:
    """Occurrences of each lower-cased word."""
    return dict(Counter(re.findall(r"\w+", text.lower())))


def load_words() -> List[str]:
    """Words of the data file shipped in the package."""
    data = resources.files("mw_pure").joinpath("words.txt").read_text(encoding="utf-8")
    return data.split()
