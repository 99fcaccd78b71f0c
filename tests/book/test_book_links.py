"""The static link check: every internal link and #anchor of a built site must resolve."""

from __future__ import annotations

from pathlib import Path

from tmiclnet.book import links as book_links


def site(root: Path, broken: bool) -> Path:
    (root / "sub").mkdir()
    (root / "_static").mkdir()
    (root / "_static" / "style.css").write_text("body {}")
    (root / "sub" / "index.html").write_text(
        '<h1 id="deep">Deep</h1><a href="../index.html#top">up</a>'
    )
    links = [
        "sub/",
        "sub/index.html#deep",
        "#top",
        "#",
        "page%20two.html#s%C3%A9ance",
        "https://example.org/missing.html",
        "mailto:someone@example.org",
        "/sub/index.html",
    ]
    if broken:
        links += ["nowhere.html", "sub/index.html#gone", "../outside.html"]
    body = "".join(f'<a href="{link}">x</a>' for link in links)
    img = '<img src="_static/missing.png">' if broken else ""
    (root / "index.html").write_text(
        f'<link rel="stylesheet" href="_static/style.css"><h1 id="top">T</h1>{body}{img}'
    )
    (root / "page two.html").write_text('<section id="séance"><a name="old"></a></section>')
    return root


def test_a_sound_site_passes(tmp_path: Path, capsys) -> None:
    root = site(tmp_path, broken=False)
    assert book_links.broken_links(root) == []
    assert book_links.main([str(root)]) == 0
    assert "all resolve" in capsys.readouterr().out


def test_each_broken_link_is_named_with_its_page_and_reason(tmp_path: Path, capsys) -> None:
    root = site(tmp_path, broken=True)
    assert book_links.broken_links(root) == [
        "index.html: ../outside.html: leaves the site",
        "index.html: _static/missing.png: no such file",
        "index.html: nowhere.html: no such file",
        "index.html: sub/index.html#gone: no anchor #gone",
    ]
    assert book_links.main([str(root)]) == 1
    assert "4 broken internal link(s)" in capsys.readouterr().out


def test_a_folder_without_a_site_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert book_links.main([str(tmp_path)]) == 2
    assert "usage" in capsys.readouterr().out
