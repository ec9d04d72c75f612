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
