"""A real CalDAV server for tests: Radicale in a child process on an unused loopback port.

    async with running_radicale(tmp_path, users={"ada": "secret"}) as dav:
        calendar_url = dav.make_calendar("ada", "secret", "work")

It stores its collections in a folder of the test's own, checks passwords against a plain
htpasswd file (no delay after a wrong password, so refusals are quick to test) and lets each user
see only their own collections. :meth:`RadicaleServer.put_event` and friends talk to it with
plain WebDAV requests, independently of the code under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio

__all__ = ["RadicaleServer", "radicale", "running_radicale"]

_TIMEOUT = httpx.Timeout(10.0)
_USERS = {"ada": "ada-password", "bob": "bob-password"}

_MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"""

_LIST = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"""


@dataclass
class RadicaleServer:
    url: str
    users: dict[str, str]
    folder: Path
    process: asyncio.subprocess.Process

    async def stop(self) -> None:
        """Stop the server now (to see how clients cope with it gone)."""
        await _stop(self.process)

    def _client(self, user: str) -> httpx.Client:
        return httpx.Client(auth=(user, self.users[user]), timeout=_TIMEOUT)

    def make_calendar(self, user: str, name: str) -> str:
        """Create a calendar collection for ``user``; its URL (with a trailing slash)."""
        url = f"{self.url}/{user}/{name}/"
        with self._client(user) as client:
            response = client.request("MKCALENDAR", url, content=_MKCALENDAR.format(name=name))
            response.raise_for_status()
        return url

    def put_event(self, user: str, calendar_url: str, ics: str, name: str | None = None) -> str:
        """Store one calendar object; its URL."""
        url = f"{calendar_url}{name or uuid.uuid4().hex}.ics"
        with self._client(user) as client:
            response = client.put(
                url, content=ics.encode(), headers={"Content-Type": "text/calendar"}
            )
            response.raise_for_status()
        return url

    def objects(self, user: str, calendar_url: str) -> dict[str, str]:
        """Every calendar object in a collection: href -> its iCalendar text."""
        with self._client(user) as client:
            response = client.request(
                "PROPFIND", calendar_url, content=_LIST, headers={"Depth": "1"}
            )
            response.raise_for_status()
            found: dict[str, str] = {}
            for href in _hrefs(response.text):
                if href.endswith(".ics"):
                    item = client.get(httpx.URL(self.url).join(href))
                    item.raise_for_status()
                    found[href] = item.text
            return found

    def delete(self, user: str, url: str) -> None:
        with self._client(user) as client:
            client.delete(url).raise_for_status()


def _hrefs(multistatus: str) -> list[str]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(multistatus)
    return [el.text or "" for el in root.iter("{DAV:}href")]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def running_radicale(
    folder: Path, users: dict[str, str] | None = None
) -> AsyncIterator[RadicaleServer]:
    """Start Radicale with these users (name -> password) and stop it afterwards."""
    users = dict(users or _USERS)
    await asyncio.to_thread(_prepare, folder, users)
    port = _free_port()
    args = [
        "-m",
        "radicale",
        "--config",
        "",
        "--server-hosts",
        f"127.0.0.1:{port}",
        "--storage-filesystem-folder",
        str(folder / "collections"),
        "--auth-type",
        "htpasswd",
        "--auth-htpasswd-filename",
        str(folder / "htpasswd"),
        "--auth-htpasswd-encryption",
        "plain",
        "--auth-delay",
        "0",
        "--rights-type",
        "owner_only",
        "--logging-level",
        "warning",
    ]
    log_path = folder / "radicale.log"
    # Radicale reads no configuration of the machine it runs on: "--config ''" and a clean HOME.
    env = {**os.environ, "HOME": str(folder)}
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with asyncio.timeout(30):
            async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
                while True:
                    if process.returncode is not None:
                        raise RuntimeError(
                            f"Radicale exited with {process.returncode}: "
                            + log_path.read_text(errors="replace")
                        )
                    with contextlib.suppress(httpx.TransportError):
                        await client.get(url + "/.web/")
                        break
                    await asyncio.sleep(0.05)
        yield RadicaleServer(url=url, users=users, folder=folder, process=process)
    finally:
        await _stop(process)


def _prepare(folder: Path, users: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{name}:{password}\n" for name, password in users.items())
    (folder / "htpasswd").write_text(lines)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        async with asyncio.timeout(10):
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()


@pytest_asyncio.fixture
async def radicale(tmp_path: Path) -> AsyncIterator[RadicaleServer]:
    """A Radicale server for one test, with users ``ada`` and ``bob``."""
    async with running_radicale(tmp_path / "radicale") as server:
        yield server
