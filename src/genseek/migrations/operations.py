"""What each migration step does: ``describe`` (the dry-run line), ``apply`` (idempotent, returns
the state its rollback needs) and ``rollback``.

Every ``apply`` checks the collection's actual state first, so re-running a step that crashed half
way (or that someone already did by hand) converges instead of failing or duplicating work.

Every write to Qdrant is preceded by a fencing check (:meth:`Context.fence`, and the ledger's
``guard`` for ledger records): a migrator whose lock was taken over stops before the write.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qdrant_client.http import models

from ..adapters.base import DISTANCES, Capabilities
from ..errors import CollectionError, ConfigError
from .backfill import BackfillProgress, backfill
from .ledger import Ledger
from .plan import AddVector, Alias, Backfill, CreateCollection, PayloadIndex, VectorSpec

_SCHEMA = {
    "keyword": models.PayloadSchemaType.KEYWORD,
    "integer": models.PayloadSchemaType.INTEGER,
    "float": models.PayloadSchemaType.FLOAT,
    "bool": models.PayloadSchemaType.BOOL,
    "uuid": models.PayloadSchemaType.UUID,
    "datetime": models.PayloadSchemaType.DATETIME,
    "text": models.PayloadSchemaType.TEXT,
}


@dataclass
class Context:
    """What steps run against: the client, the plan's target, the registry, the ledger.

    ``lease`` is the :class:`~genseek.migrations.lock.LockLease` while the migrator holds the
    target's lock (``None`` otherwise, e.g. for dry runs).
    """

    client: Any
    target: str
    registry: Any
    ledger: Ledger
    progress: bool = True
    batch_hook: Callable[[str, BackfillProgress], None] | None = None
    owner: str = ""
    lease: Any = None

    def fence(self, step: str | None = None) -> None:
        """Raise :class:`~genseek.migrations.ledger.MigrationLockLostError` unless this migrator
        still holds the lock; call before every write to Qdrant. A no-op without a lease."""
        if self.lease is not None:
            if step is not None:
                self.lease.step = step
            self.lease.check()

    def capabilities(self) -> Capabilities:
        try:
            return Capabilities.from_version(self.client.info().version)
        except Exception:  # noqa: BLE001 - a server that hides its version gets the safe path
            return Capabilities(version=None)

    def aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def physical(self, name: str) -> str:
        """The collection ``name`` refers to (itself, or an alias's target)."""
        return self.aliases().get(name, name)

    def vectors(self, collection: str) -> dict[str, models.VectorParams]:
        if not self.client.collection_exists(collection):
            raise CollectionError(f"collection {collection!r} does not exist")
        vectors = self.client.get_collection(collection).config.params.vectors
        if isinstance(vectors, models.VectorParams):
            return {"": vectors}
        return dict(vectors or {})


def vector_params(spec: VectorSpec, registry: Any) -> models.VectorParams:
    """Qdrant ``VectorParams`` for a vector spec (size and distance from the encoder's metadata)."""
    if spec.encoder is None:
        return models.VectorParams(size=int(spec.size), distance=DISTANCES[spec.distance], on_disk=spec.on_disk)  # type: ignore[arg-type]
    info = registry.create("encoder", spec.encoder, **spec.encoder_options).info
    if info.dim is None:
        raise ConfigError(f"encoder {spec.encoder!r} does not know its size from these options; give size= explicitly")
    distance = spec.distance
    if distance == "auto":
        distance = "dot" if info.normalized and info.distance in ("cosine", "dot") else info.distance
    return models.VectorParams(size=int(info.dim), distance=DISTANCES[distance], on_disk=spec.on_disk)


def _same(a: models.VectorParams, b: models.VectorParams) -> bool:
    return a.size == b.size and a.distance == b.distance


# -- create_collection ----------------------------------------------------------------------------
def describe_create(step: CreateCollection, ctx: Context, record: dict[str, Any] | None = None) -> str:
    wanted = {name: vector_params(spec, ctx.registry) for name, spec in step.vectors.items()}
    listing = ", ".join(f"{n}({p.size}, {p.distance.value})" for n, p in wanted.items())
    if ctx.client.collection_exists(ctx.target):
        return f"check collection {ctx.target!r} has vectors {listing} (exists; nothing to create)"
    return f"create collection {ctx.target!r} with vectors {listing}"


def apply_create(step: CreateCollection, ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    wanted = {name: vector_params(spec, ctx.registry) for name, spec in step.vectors.items()}
    if ctx.client.collection_exists(ctx.target):
        if (record.get("state") or {}).get("created"):
            return {"created": True}  # created by an earlier, interrupted run of this step
        existing = ctx.vectors(ctx.target)
        for name, params in wanted.items():
            if name not in existing:
                raise CollectionError(
                    f"collection {ctx.target!r} exists without vector {name!r}; use an add_vector step to add it"
                )
            if not _same(existing[name], params):
                raise CollectionError(
                    f"collection {ctx.target!r} has vector {name!r} as {existing[name].size}-d "
                    f"{existing[name].distance.value}, the step wants {params.size}-d {params.distance.value}"
                )
        return {"created": False}
    ctx.ledger.write(ctx.target, step.name, state={"created": True})  # fenced by the ledger guard
    ctx.client.create_collection(ctx.target, vectors_config=wanted)
    return {"created": True}


def rollback_create(step: CreateCollection, ctx: Context, state: dict[str, Any]) -> str:
    if state.get("created") and ctx.client.collection_exists(ctx.target):
        ctx.client.delete_collection(ctx.target)
        return f"deleted collection {ctx.target!r}"
    return f"collection {ctx.target!r} existed before the step; left as it is"


# -- add_vector -----------------------------------------------------------------------------------
def _strategy(step: AddVector, ctx: Context) -> str:
    if step.strategy != "auto":
        return step.strategy
    return "in_place" if ctx.capabilities().create_vector_name else "copy"


def describe_add_vector(step: AddVector, ctx: Context, record: dict[str, Any] | None = None) -> str:
    params = vector_params(step, ctx.registry)
    strategy = _strategy(step, ctx)
    physical = ctx.physical(ctx.target)
    if step.vector in ctx.vectors(physical):
        return f"check vector {step.vector!r} of {ctx.target!r} (exists; nothing to add)"
    if strategy == "in_place":
        return f"add vector {step.vector!r} ({params.size}, {params.distance.value}) to {physical!r} with create_vector_name"
    return (
        f"copy {physical!r} into {physical}__{step.name!s} with the extra vector {step.vector!r} "
        f"({params.size}, {params.distance.value}), then switch alias {ctx.target!r} to it"
    )


def apply_add_vector(step: AddVector, ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    params = vector_params(step, ctx.registry)
    strategy = _strategy(step, ctx)
    state = dict(record.get("state") or {})
    if state.get("strategy") == "copy":
        strategy = "copy"  # resume an interrupted copy
    physical = ctx.physical(ctx.target)
    existing = ctx.vectors(physical)
    if step.vector in existing and not state:
        if not _same(existing[step.vector], params):
            raise CollectionError(
                f"collection {ctx.target!r} already has vector {step.vector!r} as {existing[step.vector].size}-d "
                f"{existing[step.vector].distance.value}; the step wants {params.size}-d {params.distance.value}"
            )
        return {"strategy": "none", "created": False}
    if strategy == "in_place":
        ctx.ledger.write(ctx.target, step.name, state={"strategy": "in_place", "created": True, "collection": physical})
        ctx.client.create_vector_name(
            physical,
            step.vector,
            models.DenseVectorNameConfig(dense=models.DenseVectorConfig(size=params.size, distance=params.distance)),
        )
        return {"strategy": "in_place", "created": True, "collection": physical}
    return _copy_with_vector(step, ctx, params, state)


def _copy_with_vector(step: AddVector, ctx: Context, params: models.VectorParams, state: dict[str, Any]) -> dict[str, Any]:
    aliases = ctx.aliases()
    if "previous" in state:
        previous, copy = state["previous"], state["copy"]
    else:
        if ctx.target not in aliases:
            raise CollectionError(
                f"{ctx.target!r} is a collection, not an alias: the copy strategy switches an alias atomically. "
                f"Point your application at an alias of it (an 'alias' step), migrate the alias, or use "
                "strategy='in_place' on Qdrant >= 1.18"
            )
        previous, copy = aliases[ctx.target], f"{aliases[ctx.target]}__{step.name}"
        ctx.ledger.write(ctx.target, step.name, state={"strategy": "copy", "previous": previous, "copy": copy})
    if aliases.get(ctx.target) == copy:
        return {"strategy": "copy", "previous": previous, "copy": copy}
    source = ctx.client.get_collection(previous).config.params
    vectors = source.vectors if isinstance(source.vectors, dict) else {"": source.vectors}
    if not ctx.client.collection_exists(copy):
        ctx.fence()
        ctx.client.create_collection(
            copy, vectors_config={**vectors, step.vector: params}, sparse_vectors_config=source.sparse_vectors
        )
        with warnings.catch_warnings():  # carry the payload indexes over (local mode keeps none)
            warnings.simplefilter("ignore", UserWarning)
            for field, index in (ctx.client.get_collection(previous).payload_schema or {}).items():
                ctx.client.create_payload_index(copy, field, field_schema=index.params or index.data_type)
    offset = None
    while True:  # upserts are idempotent: an interrupted copy is simply redone
        records, offset = ctx.client.scroll(previous, limit=step.batch_size, offset=offset, with_payload=True, with_vectors=True)
        if records:
            points = [models.PointStruct(id=r.id, vector=_named(r.vector), payload=r.payload) for r in records]
            ctx.fence()  # right before every copy batch
            ctx.client.upsert(copy, points)
        if offset is None:
            break
    ctx.fence()
    ctx.client.update_collection_aliases(
        change_aliases_operations=[
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=ctx.target)),
            models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=copy, alias_name=ctx.target)),
        ]
    )
    return {"strategy": "copy", "previous": previous, "copy": copy}


def _named(vector: Any) -> dict[str, Any]:
    """A record's vectors as a dict: the copy has named vectors, the source's unnamed one is ``""``."""
    if vector is None:
        return {}
    return vector if isinstance(vector, dict) else {"": vector}


def rollback_add_vector(step: AddVector, ctx: Context, state: dict[str, Any]) -> str:
    if state.get("strategy") == "in_place" and state.get("created"):
        ctx.client.delete_vector_name(state["collection"], step.vector)
        return f"deleted vector {step.vector!r} from {state['collection']!r}"
    if state.get("strategy") == "copy":
        _switch_alias(ctx, ctx.target, state["previous"])
        return f"alias {ctx.target!r} points to {state['previous']!r} again (the copy {state['copy']!r} is kept; delete it when sure)"
    return "nothing to undo (the vector existed before the step)"


# -- payload_index --------------------------------------------------------------------------------
def describe_index(step: PayloadIndex, ctx: Context, record: dict[str, Any] | None = None) -> str:
    tenant = ", is_tenant" if step.is_tenant else ""
    return f"create {step.schema_type} payload index on {step.field!r} of {ctx.target!r}{tenant}"


def _index_schema(step: PayloadIndex) -> Any:
    if step.is_tenant and step.schema_type == "keyword":
        return models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
    if step.is_tenant and step.schema_type == "uuid":
        return models.UuidIndexParams(type=models.UuidIndexType.UUID, is_tenant=True)
    return _SCHEMA[step.schema_type]


def apply_index(step: PayloadIndex, ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    schema = ctx.client.get_collection(ctx.target).payload_schema or {}
    existed = step.field in schema and not (record.get("state") or {}).get("created")
    ctx.fence()
    with warnings.catch_warnings():  # local mode: "payload indexes have no effect"
        warnings.simplefilter("ignore", UserWarning)
        ctx.client.create_payload_index(ctx.target, step.field, field_schema=_index_schema(step))
    return {"created": not existed}


def rollback_index(step: PayloadIndex, ctx: Context, state: dict[str, Any]) -> str:
    if not state.get("created"):
        return f"index on {step.field!r} existed before the step; left as it is"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ctx.client.delete_payload_index(ctx.target, step.field)
    return f"deleted payload index on {step.field!r}"


# -- backfill -------------------------------------------------------------------------------------
def describe_backfill(step: Backfill, ctx: Context, record: dict[str, Any] | None = None) -> str:
    checkpoint = (record or {}).get("checkpoint") or {}
    todo = ctx.client.count(
        ctx.target,
        count_filter=_todo_filter(step),
        exact=True,
    ).count
    resume = f", resuming after {checkpoint.get('encoded', 0)} encoded" if checkpoint else ""
    return (
        f"backfill vector {step.vector!r} of {ctx.target!r} from payload {step.field!r} with encoder "
        f"{step.encoder!r}: {todo} points to encode in batches of {step.batch_size}{resume}"
    )


def _todo_filter(step: Backfill) -> models.Filter:
    must = [models.Filter.model_validate(step.filter)] if step.filter else None
    return models.Filter(
        must=must,
        must_not=[
            models.IsEmptyCondition(is_empty=models.PayloadField(key=step.field)),
            models.HasVectorCondition(has_vector=step.vector),
        ],
    )


def _has_vector(step: Backfill) -> models.Filter:
    """Points in the step's scope that have the target vector."""
    done = models.Filter(must=[models.HasVectorCondition(has_vector=step.vector)])
    if step.filter:
        done.must.append(models.Filter.model_validate(step.filter))  # type: ignore[union-attr]
    return done


def apply_backfill(step: Backfill, ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    checkpoint = record.get("checkpoint") or {}
    recorded = dict(record.get("state") or {})
    if "existing_before" not in recorded:  # vectors the backfill did not write: a rollback must keep them
        existing = ctx.client.count(ctx.target, count_filter=_has_vector(step), exact=True).count
        recorded = {"existing_before": existing}
        ctx.ledger.write(ctx.target, step.name, state=recorded)
    encoder = ctx.registry.create("encoder", step.encoder, **step.encoder_options)
    totals = {k: int(checkpoint.get(k, 0)) for k in ("encoded", "skipped_existing", "skipped_missing", "batches", "scanned")}

    def save(progress: BackfillProgress) -> None:
        merged = progress.as_dict()
        for key, base in totals.items():
            merged[key] = base + merged[key]
        ctx.ledger.checkpoint(ctx.target, step.name, merged)  # fenced by the ledger guard
        if ctx.batch_hook is not None:
            ctx.batch_hook(step.name, progress)

    result = backfill(
        ctx.client,
        ctx.target,
        step.vector,
        field=step.field,
        encoder=encoder,
        modality=step.modality,
        root=step.root,
        batch_size=step.batch_size,
        filter=models.Filter.model_validate(step.filter) if step.filter else None,
        start_offset=checkpoint.get("offset") if not checkpoint.get("done") else None,
        on_batch=save,
        before_write=ctx.fence,
        progress=ctx.progress,
    )
    state: dict[str, Any] = {key: totals[key] + getattr(result, key) for key in totals}
    state["existing_before"] = recorded["existing_before"]
    state["vectors_present"] = ctx.client.count(ctx.target, count_filter=_has_vector(step), exact=True).count
    return state


def rollback_backfill(step: Backfill, ctx: Context, state: dict[str, Any]) -> str:
    if step.vector not in ctx.vectors(ctx.physical(ctx.target)):
        return f"vector {step.vector!r} no longer exists; nothing to clear"
    if state.get("existing_before"):
        return (
            f"vector {step.vector!r} of {ctx.target!r} was left as it is: {state['existing_before']} points had it "
            "before the backfill, and clearing it would delete them too"
        )
    selector = models.FilterSelector(filter=models.Filter.model_validate(step.filter) if step.filter else models.Filter())
    ctx.client.delete_vectors(ctx.target, vectors=[step.vector], points=selector)
    return f"cleared vector {step.vector!r} of {ctx.target!r} (payloads and other vectors untouched)"


# -- alias ----------------------------------------------------------------------------------------
def _switch_alias(ctx: Context, alias: str, collection: str | None) -> None:
    operations: list[Any] = []
    if alias in ctx.aliases():
        operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    if collection is not None:
        operations.append(models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)))
    if operations:
        ctx.fence()
        ctx.client.update_collection_aliases(change_aliases_operations=operations)  # one atomic request


def describe_alias(step: Alias, ctx: Context, record: dict[str, Any] | None = None) -> str:
    target = step.collection or ctx.target
    current = ctx.aliases().get(step.alias)
    return f"point alias {step.alias!r} at {target!r} (now: {current!r})"


def apply_alias(step: Alias, ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    target = ctx.physical(step.collection or ctx.target)
    if not ctx.client.collection_exists(target):
        raise CollectionError(f"alias {step.alias!r} cannot point at {target!r}: no such collection")
    state = dict(record.get("state") or {})
    if "previous" not in state:
        state = {"previous": ctx.aliases().get(step.alias), "collection": target}
        ctx.ledger.write(ctx.target, step.name, state=state)
    if ctx.aliases().get(step.alias) != target:
        _switch_alias(ctx, step.alias, target)
    return state


def rollback_alias(step: Alias, ctx: Context, state: dict[str, Any]) -> str:
    previous = state.get("previous")
    _switch_alias(ctx, step.alias, previous)
    return f"alias {step.alias!r} restored to {previous!r}" if previous else f"alias {step.alias!r} removed"


OPERATIONS: dict[str, tuple[Callable[..., str], Callable[..., dict[str, Any]], Callable[..., str]]] = {
    "create_collection": (describe_create, apply_create, rollback_create),
    "add_vector": (describe_add_vector, apply_add_vector, rollback_add_vector),
    "payload_index": (describe_index, apply_index, rollback_index),
    "backfill": (describe_backfill, apply_backfill, rollback_backfill),
    "alias": (describe_alias, apply_alias, rollback_alias),
}

__all__ = ["Context", "OPERATIONS", "vector_params"]
