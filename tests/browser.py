"""Headless Chromium for tests that look at what a person would see (installed by make test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from email.message import EmailMessage
from pathlib import Path

import pytest

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    """The Chromium binary; missing, the test skips locally and fails under CI=true."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed (make test installs it)")
    pytest.skip("chromium is not installed (make test installs it)")


def _run(url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, url],
            capture_output=True, timeout=120, check=True,
        )


def dump_dom(url: str) -> str:
    """The DOM after scripts ran, as Chromium serialises it."""
    return _run(url, "--virtual-time-budget=5000", "--dump-dom").stdout.decode("utf-8")


def screenshot(url: str, png: Path, width: int = 1280, height: int = 1000) -> Path:
    _run(url, "--virtual-time-budget=5000", f"--window-size={width},{height}",
         f"--screenshot={png}")
    return png


def ink(png: Path) -> tuple[int, float]:
    """(distinct colours, share of non-white pixels): a blank page has (1, 0.0)."""
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        pixels = rgb.width * rgb.height
        white = sum(n for n, c in colours if min(c) >= 250)
        return len(colours), 1 - white / pixels


def inline_images(message: EmailMessage) -> str:
    """The HTML part of a message with its ``cid:`` images as data URIs, as a mail client
    shows it."""
    import base64

    html_part = message.get_body(("html",))
    assert html_part is not None
    page = str(html_part.get_content())
    for part in message.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_maintype() == "image":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            data = base64.b64encode(payload).decode("ascii")
            uri = f"data:{part.get_content_type()};base64,{data}"
            page = page.replace(f"cid:{cid.strip('<>')}", uri)
    return page


def visit_offline(urls: list[str], expression: str, timeout: float = 60) -> tuple[list, list[str]]:
    """Open each of ``urls`` in one headless Chromium tab with the network switched off
    (DevTools ``Network.emulateNetworkConditions`` offline, and a dead loopback proxy), wait
    for its load event, evaluate ``expression`` (JSON-able) and return the values and the
    URL of every request the pages made (from ``Network.requestWillBeSent``)."""
    import json
    import re
    import time

    from websockets.sync.client import connect

    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stderr is not None
            deadline = time.monotonic() + 30
            ws_url = None
            while ws_url is None and time.monotonic() < deadline:
                line = proc.stderr.readline()
                found = re.search(r"(ws://127\.0\.0\.1:\d+/devtools/browser/\S+)", line)
                ws_url = found.group(1) if found else None
            assert ws_url, "Chromium did not print its DevTools address"
            with connect(ws_url, max_size=1 << 26, open_timeout=30) as ws:
                ids = iter(range(1, 1 << 30))
                requests: list[str] = []
                events: list[dict] = []

                def recv() -> dict:
                    got = json.loads(ws.recv(timeout=timeout))
                    if got.get("method") == "Network.requestWillBeSent":
                        requests.append(got["params"]["request"]["url"])
                    return got

                def call(method: str, session: str | None = None, **params: object) -> dict:
                    msg_id = next(ids)
                    msg: dict = {"id": msg_id, "method": method, "params": params}
                    if session:
                        msg["sessionId"] = session
                    ws.send(json.dumps(msg))
                    while True:
                        got = recv()
                        if got.get("id") == msg_id:
                            assert "error" not in got, f"{method}: {got['error']}"
                            return got.get("result", {})
                        events.append(got)

                def wait_for(method: str) -> None:
                    while not any(ev.get("method") == method for ev in events):
                        events.append(recv())
                    events.clear()

                target = call("Target.createTarget", url="about:blank")["targetId"]
                session = call("Target.attachToTarget", targetId=target, flatten=True)[
                    "sessionId"
                ]
                call("Network.enable", session)
                call("Network.emulateNetworkConditions", session, offline=True, latency=0,
                     downloadThroughput=-1, uploadThroughput=-1)  # fmt: skip
                call("Page.enable", session)
                values = []
                for url in urls:
                    events.clear()
                    call("Page.navigate", session, url=url)
                    wait_for("Page.loadEventFired")
                    result = call("Runtime.evaluate", session, expression=expression,
                                  returnByValue=True)  # fmt: skip
                    values.append(result["result"].get("value"))
                return values, requests
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
