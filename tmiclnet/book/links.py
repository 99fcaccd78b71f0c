"""Every internal link and anchor of a built site resolves: a static check of `_build/html`.

`python -m tmiclnet book links _build/quick/_build/html` reads every HTML page with html.parser,
follows each link that stays inside the site (`a`/`link` href, `img`/`script`/`iframe` src) to a
file of the build, and checks its `#anchor` against the target's ids. It prints one line per
broken link (page, link, reason) and exits 1 if there is any. No browser and no server needed, so
it runs wherever `make test` does; external links are not checked (the build runs offline).
"""

from __future__ import annotations

import functools
import posixpath
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "iframe": "src"}
SKIPPED_DIRS = {"_static", "_sources", "_images", "_downloads"}


class _Page(HTMLParser):
    """The ids (anchors) a page defines and the internal links it makes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if values.get(name):
                self.ids.add(values[name])
        link = values.get(LINK_ATTRS.get(tag, ""))
        if link and _internal(link):
            self.links.append(link)


def _internal(link: str) -> bool:
    """A link to a file of this site (no scheme, no host, not a bare `#`)."""
    parts = urlsplit(link.strip())
    return not (parts.scheme or parts.netloc) and link.strip() not in ("", "#")


@functools.cache
def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def pages(html_dir: Path) -> list[Path]:
    """The site's HTML pages (assets and copied sources left out)."""
    return sorted(
        p for p in html_dir.rglob("*.html") if not SKIPPED_DIRS & set(p.relative_to(html_dir).parts)
    )


def resolve(html_dir: Path, page: Path, link: str) -> str | None:
    """Why `link` on `page` is broken, or None when its file (and anchor) exist.

    Args:
        html_dir: the site's root folder (nothing outside it is part of the site).
        page: the page the link is on.
        link: the link as written in the page (relative, or absolute from the site root).
    """
    parts = urlsplit(link.strip())
    here = page.parent.relative_to(html_dir).as_posix()
    rel = unquote(parts.path)
    if not rel:
        target = page
    else:
        joined = rel.lstrip("/") if rel.startswith("/") else posixpath.join(here, rel)
        norm = posixpath.normpath(joined)
        if norm == ".." or norm.startswith("../"):
            return "leaves the site"
        target = html_dir / norm
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return "no such file"
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in _parse(target).ids:
        return f"no anchor #{fragment}"
    return None


def broken_links(html_dir: str | Path) -> list[str]:
    """One line per broken internal link of the site: `page: link: reason`.

    Args:
        html_dir: the built site (the folder holding `index.html`).
    """
    root = Path(html_dir).resolve()
    _parse.cache_clear()
    found = []
    for page in pages(root):
        for link in sorted(set(_parse(page).links)):
            reason = resolve(root, page, link)
            if reason:
                found.append(f"{page.relative_to(root)}: {link}: {reason}")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not (Path(args[0]) / "index.html").is_file():
        print("usage: python -m tmiclnet book links SITE_DIR (a folder with index.html)")
        return 2
    broken = broken_links(args[0])
    for line in broken:
        print(line)
    site = Path(args[0])
    n_pages = len(pages(site.resolve()))
    n_links = sum(len(set(_parse(p).links)) for p in pages(site.resolve()))
    if broken:
        print(f"{site}: {len(broken)} broken internal link(s) in {n_pages} pages")
        return 1
    print(f"{site}: {n_pages} pages, {n_links} internal links and anchors, all resolve")
    return 0
