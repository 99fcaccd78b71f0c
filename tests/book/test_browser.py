"""The rendered book, checked the way a reader sees it: every page opened in headless Chromium.

A page fails on a traceback or error output, a figure that does not load, or an internal link that
leads nowhere (missing file or missing #anchor). A screenshot of every page is saved under
_build/screenshots/. Chromium is driven over the DevTools protocol with tornado's websocket
client (already installed with Jupyter), so no extra package is needed.
Needs: Debian's `chromium` and a quick build (`make test` builds it before pytest runs).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import http.server
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "quick" / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
]
ERROR_SELECTORS = [
    ".traceback",
    ".output.error",
    ".output.stderr",
    ".stderr",
    ".ansi-red-intense-fg",
    ".system-message",
    ".problematic",
]

pytestmark = pytest.mark.browser

# Runs inside the page: waits for every image, then reports what a reader would see as broken.
PROBE = r"""
(async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 5000); })));
  const errors = [];
  for (const sel of __SELECTORS__) {
    for (const el of document.querySelectorAll(sel)) {
      errors.push(sel + ': ' + el.innerText.trim().slice(0, 160));
    }
  }
  for (const out of document.querySelectorAll('.cell_output')) {
    const bar = out.innerText.match(/\d+%\|[^|\n]*\|\s*\d+\/\d+/);
    if (bar) errors.push('progress bar: ' + bar[0].slice(0, 80));
  }
  const body = document.body ? document.body.innerText : '';
  const tb = 'Traceback (most recent call last)';
  if (body.includes(tb)) errors.push('text: ' + tb);
  return JSON.stringify({
    errors: errors,
    broken_images: imgs.filter(i => i.naturalWidth === 0).map(i => i.getAttribute('src')),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    height: Math.max(document.documentElement.scrollHeight, 900),
  });
})()
""".replace("__SELECTORS__", json.dumps(ERROR_SELECTORS))


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def site_pages(html_dir: Path) -> list[str]:
    """Every HTML page of a build (relative paths), static assets and sources left out."""
    skip = {"_static", "_sources", "_images", "_downloads"}
    return sorted(
        str(p.relative_to(html_dir))
        for p in html_dir.rglob("*.html")
        if not skip & set(p.relative_to(html_dir).parts)
    )


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def dead_links(links: list[str], base: str, html_dir: Path) -> list[str]:
    """Internal links (same server) whose file or #anchor does not exist in the build."""
    dead = []
    for link in sorted(set(links)):
        if not link.startswith(base):
            continue  # external, mailto:, javascript: ... not ours to check offline
        parts = urlsplit(link)
        target = html_dir / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            dead.append(f"{link[len(base) :]}: no such file")
        elif (
            parts.fragment
            and target.suffix == ".html"
            and unquote(parts.fragment) not in anchors(target)
        ):
            dead.append(f"{link[len(base) :]}: no anchor #{parts.fragment}")
    return dead


def redirect_target(page: Path) -> str | None:
    """The URL a `<meta http-equiv="refresh">` stub sends the reader to, else None."""
    head = page.read_text(encoding="utf-8", errors="replace")[:2000]
    match = re.search(r'http-equiv="refresh"[^>]*content="\d+;\s*url=([^"]+)"', head, re.I)
    return match.group(1) if match else None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


class Site:
    """A static build served on a free local port (pages behave as on a web server)."""

    def __init__(self, html_dir: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(html_dir))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """Headless Chromium over the DevTools protocol: one tab, flat session, sequential commands."""

    def __init__(self, exe: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="tmiclnet-chromium-")
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.ws_url = self._endpoint()
        self.loop = asyncio.new_event_loop()
        self.next_id = 0
        self.events: list[dict] = []
        self.ws = self.loop.run_until_complete(self._connect())

    def _endpoint(self, timeout: float = 30.0) -> str:
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_file.exists() and len(lines := port_file.read_text().split()) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.proc.returncode} at start")
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 30 s")

    async def _connect(self):
        from tornado.websocket import websocket_connect

        ws = await websocket_connect(self.ws_url, max_message_size=256 << 20)
        self.ws = ws
        target = await self._send("Target.createTarget", {"url": "about:blank"})
        attached = await self._send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        self.session = attached["sessionId"]
        await self._send("Page.enable", session=True)
        await self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )
        return ws

    async def _send(
        self, method: str, params: dict | None = None, session: bool = False, timeout: float = 60.0
    ) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        await self.ws.write_message(json.dumps(msg))
        while True:
            raw = await asyncio.wait_for(self.ws.read_message(), timeout)
            if raw is None:
                raise RuntimeError("chromium closed the DevTools connection")
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    async def _wait_event(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == name:
                    del self.events[: i + 1]
                    return
            self.events.clear()
            raw = await asyncio.wait_for(
                self.ws.read_message(), max(0.1, deadline - time.monotonic())
            )
            if raw is None:
                raise RuntimeError("chromium closed the DevTools connection")
            self.events.append(json.loads(raw))

    async def _visit(self, url: str, shot: Path) -> dict:
        self.events.clear()
        nav = await self._send("Page.navigate", {"url": url}, session=True)
        if nav.get("errorText"):
            return {
                "errors": [f"navigation failed: {nav['errorText']}"],
                "broken_images": [],
                "links": [],
                "height": 900,
            }
        await self._wait_event("Page.loadEventFired")
        result = await self._send(
            "Runtime.evaluate",
            {"expression": PROBE, "awaitPromise": True, "returnByValue": True},
            session=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"probe failed on {url}: {result['exceptionDetails']}")
        report = json.loads(result["result"]["value"])
        # a tall viewport shows the whole page as laid out at 1280 px wide (capped for huge pages)
        height = min(int(report["height"]), 12000)
        await self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )
        png = await self._send("Page.captureScreenshot", {"format": "png"}, session=True)
        await self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.write_bytes(base64.b64decode(png["data"]))
        return report

    def visit(self, url: str, shot: Path) -> dict:
        """Load a page, probe it for what a reader would see as broken, save a screenshot."""
        return self.loop.run_until_complete(self._visit(url, shot))

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.loop.close()
            shutil.rmtree(self.profile, ignore_errors=True)


def check_site(html_dir: Path, shots: Path) -> dict[str, list[str]]:
    """Open every page of a build; return {page: problems} for the pages that have any."""
    exe = chromium()
    assert exe, "chromium is not installed"
    site, browser = Site(html_dir), Browser(exe)
    problems: dict[str, list[str]] = {}
    try:
        for page in site_pages(html_dir):
            target = redirect_target(html_dir / page)
            if target is not None:  # a redirect stub (index.html): its target must exist
                dead = dead_links(
                    [site.base + str(Path(page).parent / target)], site.base, html_dir
                )
                if dead:
                    problems[page] = [f"redirect to nowhere: {d}" for d in dead]
                continue
            try:
                report = browser.visit(
                    site.base + page, shots / (page.replace("/", "__")[:-5] + ".png")
                )
            except TimeoutError:
                problems[page] = ["did not finish loading within 60 s"]
                continue
            found = [f"error output: {e}" for e in report["errors"]]
            found += [f"figure does not load: {src}" for src in report["broken_images"]]
            found += [f"dead link: {d}" for d in dead_links(report["links"], site.base, html_dir)]
            if found:
                problems[page] = found
    finally:
        browser.close()
        site.close()
    return problems


needs_chromium = pytest.mark.skipif(
    chromium() is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium; "
    ".ci/run installs it): the browser check of the rendered book is skipped",
)


@needs_chromium
def test_the_check_catches_what_a_reader_would_see(tmp_path: Path) -> None:
    """A tiny site with one good page and one of each fault: only the faults are reported."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    fig.savefig(tmp_path / "ok.png")
    plt.close(fig)
    (tmp_path / "index.html").write_text(
        '<html><body><h1 id="top">Fine</h1><img src="ok.png"><a href="bad.html#top">b</a>'
        '<a href="#top">self</a><a href="https://example.org/">ext</a></body></html>'
    )
    (tmp_path / "bad.html").write_text(
        '<html><body><div id="top" class="output traceback">ValueError: boom</div>'
        '<img src="missing.png"><a href="nowhere.html">x</a><a href="index.html#gone">y</a>'
        "<pre>Traceback (most recent call last):</pre>"
        '<div class="cell_output"><pre>epochs:  40%|####      | 2/5 [00:01]</pre></div>'
        "</body></html>"
    )
    (tmp_path / "go.html").write_text('<meta http-equiv="Refresh" content="0; url=gone.html" />')
    (tmp_path / "ok.html").write_text('<meta http-equiv="Refresh" content="0; url=index.html" />')
    problems = check_site(tmp_path, tmp_path / "shots")
    assert set(problems) == {"bad.html", "go.html"}, problems
    assert problems["go.html"] == ["redirect to nowhere: gone.html: no such file"]
    found = "\n".join(problems["bad.html"])
    assert ".traceback: ValueError: boom" in found
    assert "text: Traceback (most recent call last)" in found
    assert "progress bar: 40%|####      | 2/5" in found
    assert "figure does not load: missing.png" in found
    assert "dead link: nowhere.html: no such file" in found
    assert "dead link: index.html#gone: no anchor #gone" in found
    assert (tmp_path / "shots" / "index.png").stat().st_size > 1000
    assert (tmp_path / "shots" / "bad.png").exists()


@needs_chromium
@pytest.mark.needs_build(HTML / "index.html")
def test_every_page_of_the_quick_book_renders_cleanly() -> None:
    problems = check_site(HTML, SHOTS)
    report = "\n".join(f"{page}:\n  " + "\n  ".join(found) for page, found in problems.items())
    assert not problems, (
        f"{len(problems)} page(s) of the quick book are broken for a reader "
        f"(screenshots in {SHOTS}):\n{report}"
    )
    pages = [p for p in site_pages(HTML) if redirect_target(HTML / p) is None]
    missing = [p for p in pages if not (SHOTS / (p.replace("/", "__")[:-5] + ".png")).exists()]
    assert not missing, f"no screenshot of {missing}"
