"""Migration plans: an ordered list of named steps for one target collection.

A plan is data (JSON or TOML, or built in Python), validated by pydantic with unknown keys
rejected::

    {"collection": "tracks",
     "steps": [
       {"name": "m001_create", "op": "create_collection", "vectors": {"minilm": {"encoder": "hf-text"}}},
       {"name": "m002_tenant_index", "op": "payload_index", "field": "shop", "is_tenant": true},
       {"name": "m003_add_clap", "op": "add_vector", "vector": "clap", "encoder": "clap"},
       {"name": "m004_fill_clap", "op": "backfill", "vector": "clap", "field": "caption", "encoder": "clap"},
       {"name": "m005_live", "op": "alias", "alias": "tracks_live"}]}

Step names are unique; applied steps are never edited (the runner refuses a plan whose applied
steps changed parameters or order — add a new step instead).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="unique, ordered step name, e.g. 'm003_add_clap'")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"step name {value!r} must be 1-128 letters, digits, '_', '.', '-'")
        return value

    def params(self) -> dict[str, Any]:
        """The parameters recorded in the ledger (everything but the name)."""
        return self.model_dump(mode="json", exclude={"name"})


class VectorSpec(BaseModel):
    """A named vector, sized from an encoder's metadata or given explicitly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: str | None = Field(default=None, description="encoder id whose metadata gives size and distance")
    encoder_options: dict[str, Any] = Field(default_factory=dict, description="options to build that encoder")
    size: int | None = Field(default=None, ge=1, description="vector size (when no encoder is given)")
    distance: Literal["auto", "cosine", "dot", "euclid", "manhattan"] = Field(
        default="auto", description="'auto': DOT for encoders with unit-norm output (faster), else the encoder's distance"
    )
    on_disk: bool | None = Field(default=None, description="store these vectors on disk (server)")

    @model_validator(mode="after")
    def _sized(self) -> VectorSpec:
        if (self.encoder is None) == (self.size is None):
            raise ValueError("give exactly one of encoder= (size from its metadata) or size=")
        if self.encoder is None and self.distance == "auto":
            raise ValueError("distance='auto' needs encoder=; give distance explicitly with size=")
        return self


class CreateCollection(_Step):
    """Create the target collection with named vectors (no-op when it exists with the same vectors)."""

    op: Literal["create_collection"] = "create_collection"
    vectors: dict[str, VectorSpec] = Field(description="named vectors to create", min_length=1)


class AddVector(_Step, VectorSpec):
    """Add a named vector to an existing collection (the app's points keep everything else).

    ``strategy``: ``in_place`` uses ``create_vector_name`` (Qdrant ≥ 1.18 and local mode);
    ``copy`` builds ``<collection>__<step name>`` with every point and switches the alias
    ``collection`` to it atomically (the target must be an alias; writes made to the old
    collection during the copy are not carried over — pause writers; vectors, sparse vectors and
    payload indexes are copied, HNSW/quantization settings take the server defaults); ``auto`` picks
    ``in_place`` when the backend supports it.
    """

    op: Literal["add_vector"] = "add_vector"
    vector: str = Field(description="name of the new vector")
    strategy: Literal["auto", "in_place", "copy"] = Field(default="auto", description="how to add it")
    batch_size: int = Field(default=512, ge=1, description="points per batch when copying")


class PayloadIndex(_Step):
    """Create a payload index (``is_tenant=True`` for the tenant field of a multitenant collection)."""

    op: Literal["payload_index"] = "payload_index"
    field: str = Field(min_length=1, description="payload key")
    schema_type: Literal["keyword", "integer", "float", "bool", "uuid", "datetime", "text"] = Field(
        default="keyword", alias="schema", description="index type"
    )
    is_tenant: bool = Field(default=False, description="mark the field as the tenant partition (keyword/uuid only)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _tenant(self) -> PayloadIndex:
        if self.is_tenant and self.schema_type not in ("keyword", "uuid"):
            raise ValueError("is_tenant=True needs schema 'keyword' or 'uuid'")
        return self

    def params(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"name"}, by_alias=True)


class Backfill(_Step):
    """Encode a payload field into a named vector, resumably (see :mod:`genseek.migrations.backfill`)."""

    op: Literal["backfill"] = "backfill"
    vector: str = Field(description="named vector to fill")
    field: str = Field(min_length=1, description="dotted payload path of the source (text, image path, audio path)")
    encoder: str = Field(description="encoder id")
    encoder_options: dict[str, Any] = Field(default_factory=dict, description="options to build the encoder")
    modality: Literal["text", "image", "audio"] | None = Field(default=None, description="source modality (default: inferred)")
    root: str | None = Field(default=None, description="directory relative media paths are resolved against")
    batch_size: int = Field(default=256, ge=1, description="points per batch")
    filter: dict[str, Any] | None = Field(default=None, description="only points matching this Qdrant filter (JSON)")

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from qdrant_client.http import models

            models.Filter.model_validate(value)
        return value


class Alias(_Step):
    """Point ``alias`` at ``collection`` (default: the plan's collection) atomically; rollback restores it."""

    op: Literal["alias"] = "alias"
    alias: str = Field(min_length=1, description="alias name")
    collection: str | None = Field(default=None, description="collection it points to (default: the plan's)")


Step = Annotated[CreateCollection | AddVector | PayloadIndex | Backfill | Alias, Field(discriminator="op")]


class MigrationPlan(BaseModel):
    """An ordered list of steps for one target collection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    collection: str = Field(min_length=1, description="target collection (or alias)")
    steps: list[Step] = Field(description="ordered steps")

    @model_validator(mode="after")
    def _unique(self) -> MigrationPlan:
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(f"step name {step.name!r} appears twice; step names must be unique")
            seen.add(step.name)
        return self


def parse_plan(data: Any) -> MigrationPlan:
    """Validate a plan mapping; :class:`ConfigError` lists every problem with its location."""
    if isinstance(data, MigrationPlan):
        return data
    try:
        return MigrationPlan.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '(root)'}: {e.get('msg')}" for e in exc.errors()
        )
        raise ConfigError(f"invalid migration plan: {problems}") from None


def load_plan(path: str | Path) -> MigrationPlan:
    """Read a plan from a ``.json`` or ``.toml`` file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"migration plan {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                try:
                    import tomli as tomllib  # type: ignore[no-redef]
                except ImportError:
                    raise ConfigError("TOML plans need Python >= 3.11 or `pip install tomli`; or write the plan as JSON") from None
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (ValueError, ImportError) as exc:
        raise ConfigError(f"cannot read migration plan {str(path)!r}: {exc}") from None
    return parse_plan(data)


__all__ = [
    "AddVector",
    "Alias",
    "Backfill",
    "CreateCollection",
    "MigrationPlan",
    "PayloadIndex",
    "Step",
    "VectorSpec",
    "load_plan",
    "parse_plan",
]
