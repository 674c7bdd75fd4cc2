"""The bases of every signaling payload, and the shapes shared by the protocol's modules."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

__all__ = ["LANGUAGE_PATTERN", "LanguageTag", "Model", "Out"]

# A BCP 47 tag as captions and transcripts use them: "en", "zh", "zh-Hant", "es-419".
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$"
LanguageTag = Annotated[str, StringConstraints(max_length=16, pattern=LANGUAGE_PATTERN)]


class Model(BaseModel):
    """Base for payloads a client sends: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Out(BaseModel):
    """Base for payloads the server sends."""

    model_config = ConfigDict(frozen=True)
