"""The README and docs/ stay whole: the quick start's two commands, every docs page reachable
from docs/index.md, every relative link and anchor resolves, and the layout section names
every module of the package."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_anchor(m.group(1)) for m in re.finditer(r"^#+ (.*)$", text, re.M)}


def test_the_quick_start_keeps_its_two_commands() -> None:
    blocks = FENCE.findall(README.read_text())
    assert any("\n./tools/build-example.sh\n./tools/test.sh\n" in block for block in blocks), \
        "README's quick start must show ./tools/build-example.sh then ./tools/test.sh (.ci/run runs them)"


def test_every_docs_page_is_linked_from_the_index_and_the_readme_links_the_index() -> None:
    index = (DOCS / "index.md").read_text()
    unlinked = [p.name for p in DOCS.glob("*.md") if p.name != "index.md" and f"]({p.name})" not in index]
    assert unlinked == []
    assert "](docs/index.md)" in README.read_text()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no such heading")
    assert broken == []


def test_the_layout_section_names_every_module() -> None:
    text = (DOCS / "development.md").read_text()
    layout = text[text.index("## Layout"):]
    package = REPO / "src" / "manywheel"
    modules = {p.name for p in package.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    missing = sorted(name for name in modules if f"`{name}`" not in layout)
    assert missing == [], "docs/development.md's Layout section should describe every module"
