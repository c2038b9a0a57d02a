"""Relevance judgements for MusicCaps that no caption-trained prior has seen.

MusicCaps clips carry AudioSet labels (``audioset_positive_labels``, Freebase mids) that were
assigned independently of their captions and aspect lists. With the AudioSet ontology (shipped as
``genseek/data/audioset-ontology.json``, CC BY-SA 4.0) they give three query sets:

* **labels** — the name of every genre, mood and instrument class with at least ``min_clips``
  clips ("Reggae", "Sad music", "Electric guitar"). A clip is relevant when it carries the class
  or one of its descendants.
* **intents** — broad parent classes whose children are the intents of an ambiguous query
  ("Rock music" → Heavy metal, Punk rock, Grunge, …). A clip is relevant to intent ``c`` when it
  carries ``c`` or a descendant; it is relevant to the query when it is relevant to any intent.
* **aspects** — a random subset of a clip's aspect list ("reggae, male vocal"), from clips of a
  given split. Relevant: the source clip plus every clip whose (normalised) aspect list contains
  all the query's aspects.

:func:`multilingual_queries` gives hand-written German, Spanish and French versions of label and
aspect queries with the same relevance (the non-joint setting, where the catalog's English-only
encoder cannot read the query).

Every :class:`Query` names its relevant clips by catalog index; :func:`restrict` limits a query
set to a sub-catalog (e.g. held-out clips only) and drops queries left without relevant clips.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..musiccaps import Clip

#: The three ontology subtrees the label queries come from.
LABEL_ROOTS = {"genre": "/m/0kpv1t", "mood": "/t/dd00030", "instrument": "/m/04szw"}


def ontology_path() -> Path:
    """Path of the bundled AudioSet ontology."""
    return Path(str(resources.files("genseek") / "data" / "audioset-ontology.json"))


@dataclass(frozen=True)
class Ontology:
    """The AudioSet class hierarchy: ``names[mid]`` and ``children[mid]``."""

    names: dict[str, str]
    children: dict[str, tuple[str, ...]]

    def descendants(self, mid: str) -> frozenset[str]:
        """``mid`` and every class below it."""
        if mid not in self.names:
            raise ConfigError(f"{mid!r} is not an AudioSet class id")
        seen = {mid}
        stack = [mid]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return frozenset(seen)

    def query_text(self, mid: str) -> str:
        """A class name as a user would type it: ``"Violin, fiddle"`` → ``"Violin"``, ``"Keyboard (musical)"`` → ``"Keyboard"``."""
        name = self.names[mid].split(",")[0]
        return re.sub(r"\s*\([^)]*\)", "", name).strip()


def load_ontology(path: str | Path | None = None) -> Ontology:
    """Read the AudioSet ontology JSON (the bundled copy by default)."""
    with open(path or ontology_path(), encoding="utf-8") as handle:
        classes = json.load(handle)
    return Ontology(
        names={c["id"]: c["name"] for c in classes},
        children={c["id"]: tuple(c.get("child_ids", ())) for c in classes},
    )


@dataclass(frozen=True)
class Query:
    """One benchmark query.

    Attributes:
        qid: stable id (``label:/m/06cqb``, ``aspects:123:0``, ``de:label:/m/06cqb`` …).
        text: what the user types.
        relevant: catalog indices of the relevant clips.
        intents: for ambiguous queries, intent name → relevant clip indices (``relevant`` is their union).
        language: ISO 639-1 code of ``text``.
    """

    qid: str
    text: str
    relevant: frozenset[int]
    intents: dict[str, frozenset[int]] = field(default_factory=dict)
    language: str = "en"


@dataclass(frozen=True)
class QuerySet:
    """A named list of queries over one catalog (clip indices)."""

    name: str
    queries: tuple[Query, ...]
    description: str = ""

    def __len__(self) -> int:
        return len(self.queries)

    @cached_property
    def texts(self) -> list[str]:
        return [q.text for q in self.queries]


class ClipLabels:
    """Which clips carry each AudioSet class, including the classes below it."""

    def __init__(self, clips: Sequence[Clip], ontology: Ontology) -> None:
        self.ontology = ontology
        self._by_label: dict[str, set[int]] = {}
        for index, clip in enumerate(clips):
            for mid in clip.labels:
                self._by_label.setdefault(mid, set()).add(index)

    def clips_with(self, mid: str) -> frozenset[int]:
        """Clips labelled ``mid`` or any descendant of it."""
        out: set[int] = set()
        for sub in self.ontology.descendants(mid):
            out |= self._by_label.get(sub, set())
        return frozenset(out)


def label_queries(clips: Sequence[Clip], ontology: Ontology | None = None, *, min_clips: int = 30,
                  roots: Iterable[str] = ("genre", "mood", "instrument")) -> QuerySet:
    """Set (a): one query per genre / mood / instrument class with at least ``min_clips`` clips."""
    ontology = ontology or load_ontology()
    labels = ClipLabels(clips, ontology)
    queries = []
    for root in roots:
        if root not in LABEL_ROOTS:
            raise ConfigError(f"unknown label root {root!r}; choose from {', '.join(LABEL_ROOTS)}")
        top = LABEL_ROOTS[root]
        for mid in sorted(ontology.descendants(top) - {top}):
            relevant = labels.clips_with(mid)
            if len(relevant) >= min_clips:
                queries.append(Query(f"label:{mid}", ontology.query_text(mid), relevant))
    return QuerySet("labels", tuple(queries), f"AudioSet {'/'.join(roots)} class names with >= {min_clips} clips")


def intent_queries(clips: Sequence[Clip], ontology: Ontology | None = None, *, root: str = "genre",
                   min_intents: int = 2, min_intent_clips: int = 3) -> QuerySet:
    """Set (b): broad classes under ``root`` with at least ``min_intents`` children of ``min_intent_clips`` clips.

    The top class itself ("Music genre") is not a query.
    """
    ontology = ontology or load_ontology()
    labels = ClipLabels(clips, ontology)
    top = LABEL_ROOTS[root]
    queries = []
    for mid in sorted(ontology.descendants(top) - {top}):
        intents = {}
        for child in ontology.children.get(mid, ()):
            relevant = labels.clips_with(child)
            if len(relevant) >= min_intent_clips:
                intents[ontology.names[child]] = relevant
        if len(intents) >= min_intents:
            union = frozenset().union(*intents.values())
            queries.append(Query(f"intents:{mid}", ontology.query_text(mid), union, intents))
    return QuerySet(f"intents-{root}", tuple(queries), f"broad {root} classes; intents = their child classes")


def normalise_aspect(aspect: str) -> str:
    """Aspect comparison key: lower case, single spaces, no surrounding punctuation."""
    return " ".join(re.sub(r"[^\w\s-]", " ", aspect.lower()).split())


class AspectIndex:
    """Which clips carry each normalised aspect (built once, queried many times)."""

    def __init__(self, clips: Sequence[Clip]) -> None:
        self._clips: dict[str, set[int]] = {}
        for index, clip in enumerate(clips):
            for aspect in clip.aspects:
                self._clips.setdefault(normalise_aspect(aspect), set()).add(index)

    def containing(self, aspects: Iterable[str], source: int | None = None) -> frozenset[int]:
        """Clips whose normalised aspect list contains every aspect in ``aspects`` (plus ``source``)."""
        wanted = {normalise_aspect(a) for a in aspects}
        out: set[int] = set.intersection(*(self._clips.get(a, set()) for a in wanted)) if wanted else set()
        if source is not None:
            out.add(int(source))
        return frozenset(out)


def aspect_relevance(clips: Sequence[Clip], aspects: Iterable[str], source: int | None = None) -> frozenset[int]:
    """Clips whose normalised aspect list contains every aspect in ``aspects`` (plus ``source``)."""
    return AspectIndex(clips).containing(aspects, source)


def aspect_subset_queries(clips: Sequence[Clip], clip_ids: Iterable[int], *, seed: int, per_clip: int = 1,
                          name: str = "aspects") -> QuerySet:
    """Set (c): aspect-subset queries of ``clip_ids`` (the same sampler as the training pairs).

    Clips without aspects are skipped (their fallback query is a caption sentence, which is not
    independent of the caption embedding).
    """
    from .musiccaps_data import aspect_queries

    with_aspects = np.asarray([int(i) for i in clip_ids if clips[int(i)].aspects], np.int64)
    texts, owners = aspect_queries(list(clips), with_aspects, per_clip=per_clip, seed=seed)
    index = AspectIndex(clips)
    queries = []
    for number, (text, owner) in enumerate(zip(texts, owners)):
        relevant = index.containing(text.split(", "), source=int(owner))
        queries.append(Query(f"{name}:{int(owner)}:{number}", text, relevant))
    return QuerySet(name, tuple(queries), "aspect subsets; relevant = source clip + clips containing all the aspects")


def restrict(query_set: QuerySet, items: Iterable[int], *, name: str | None = None) -> QuerySet:
    """The query set over a sub-catalog: relevance limited to ``items``; queries left with none dropped."""
    keep = frozenset(int(i) for i in items)
    out = []
    for q in query_set.queries:
        relevant = q.relevant & keep
        if not relevant:
            continue
        intents = {k: v & keep for k, v in q.intents.items() if v & keep}
        if q.intents and len(intents) < 2:
            continue
        out.append(Query(q.qid, q.text, relevant, intents, q.language))
    return QuerySet(name or query_set.name, tuple(out), query_set.description)


# -- queries in languages the catalog's encoder does not read ---------------------------------------

#: Hand-written translations of label queries: English class name → (German, Spanish, French).
LABEL_TRANSLATIONS: dict[str, tuple[str, str, str]] = {
    "Sad music": ("traurige Musik", "música triste", "musique triste"),
    "Happy music": ("fröhliche Musik", "música alegre", "musique joyeuse"),
    "Angry music": ("wütende Musik", "música furiosa", "musique en colère"),
    "Scary music": ("unheimliche Musik", "música de miedo", "musique effrayante"),
    "Tender music": ("zärtliche Musik", "música tierna", "musique tendre"),
    "Exciting music": ("aufregende Musik", "música emocionante", "musique excitante"),
    "Funny music": ("lustige Musik", "música divertida", "musique drôle"),
    "Classical music": ("klassische Musik", "música clásica", "musique classique"),
    "Electronic music": ("elektronische Musik", "música electrónica", "musique électronique"),
    "Folk music": ("Volksmusik", "música folclórica", "musique folklorique"),
    "Christian music": ("christliche Musik", "música cristiana", "musique chrétienne"),
    "Traditional music": ("traditionelle Musik", "música tradicional", "musique traditionnelle"),
    "Music for children": ("Kindermusik", "música para niños", "musique pour enfants"),
    "Music of Latin America": ("lateinamerikanische Musik", "música latinoamericana", "musique latino-américaine"),
    "Music of Africa": ("afrikanische Musik", "música africana", "musique africaine"),
    "Music of Asia": ("asiatische Musik", "música asiática", "musique asiatique"),
    "Middle Eastern music": ("Musik aus dem Nahen Osten", "música de Oriente Medio", "musique du Moyen-Orient"),
    "Heavy metal": ("Schwermetall-Musik", "metal pesado", "métal lourd"),
    "Electric guitar": ("E-Gitarre", "guitarra eléctrica", "guitare électrique"),
    "Acoustic guitar": ("Akustikgitarre", "guitarra acústica", "guitare acoustique"),
    "Bass guitar": ("Bassgitarre", "bajo eléctrico", "guitare basse"),
    "Violin": ("Geige", "violín", "violon"),
    "Cello": ("Violoncello", "violonchelo", "violoncelle"),
    "Trumpet": ("Trompete", "trompeta", "trompette"),
    "Flute": ("Querflöte", "flauta", "flûte"),
    "Drum": ("Trommel", "tambor", "tambour"),
    "Bell": ("Glocke", "campana", "cloche"),
    "Harp": ("Harfe", "arpa", "harpe"),
    "Choir": ("Chor", "coro", "chorale"),
    "Bagpipes": ("Dudelsack", "gaita", "cornemuse"),
    "Accordion": ("Akkordeon", "acordeón", "accordéon"),
    "Keyboard": ("Tasteninstrument", "teclado", "clavier"),
    "Percussion": ("Schlagzeug und Perkussion", "percusión", "percussions"),
    "Brass instrument": ("Blechblasinstrument", "instrumento de metal", "cuivres"),
    "Wind instrument": ("Blasinstrument", "instrumento de viento", "instrument à vent"),
    "Bowed string instrument": ("Streichinstrument", "instrumento de cuerda frotada", "instrument à cordes frottées"),
}

#: Hand-written translations of aspect queries: English aspects → (German, Spanish, French) texts.
ASPECT_TRANSLATIONS: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("male vocal",): ("männlicher Gesang", "voz masculina", "voix masculine"),
    ("female vocal",): ("weiblicher Gesang", "voz femenina", "voix féminine"),
    ("instrumental",): ("ohne Gesang", "sin voz", "sans voix"),
    ("low quality",): ("schlechte Aufnahmequalität", "grabación de baja calidad", "enregistrement de mauvaise qualité"),
    ("live performance",): ("Live-Auftritt", "actuación en directo", "concert en direct"),
    ("acoustic guitar", "male vocal"): ("Akustikgitarre, männlicher Gesang", "guitarra acústica, voz masculina", "guitare acoustique, voix masculine"),
    ("piano", "instrumental"): ("Klavier, ohne Gesang", "piano, sin voz", "piano, sans voix"),
    ("female vocal", "pop"): ("weiblicher Gesang, Popmusik", "voz femenina, música pop", "voix féminine, musique pop"),
    ("electric guitar", "rock"): ("E-Gitarre, Rockmusik", "guitarra eléctrica, música rock", "guitare électrique, musique rock"),
    ("slow tempo", "emotional"): ("langsames Tempo, gefühlvoll", "tempo lento, emotivo", "tempo lent, émouvant"),
    ("fast tempo", "energetic"): ("schnelles Tempo, energiegeladen", "tempo rápido, enérgico", "tempo rapide, énergique"),
    ("drums", "bass", "electronic"): ("Schlagzeug, Bass, elektronisch", "batería, bajo, electrónica", "batterie, basse, électronique"),
}

LANGUAGES = ("de", "es", "fr")


def multilingual_queries(clips: Sequence[Clip], ontology: Ontology | None = None, *, min_clips: int = 10) -> QuerySet:
    """German, Spanish and French label and aspect queries, with the English queries' relevance.

    Label queries keep the relevance of the AudioSet class; aspect queries are relevant to every
    clip whose aspects contain all the English aspects. Queries with fewer than ``min_clips``
    relevant clips are left out.
    """
    ontology = ontology or load_ontology()
    labels = ClipLabels(clips, ontology)
    by_text = {}
    for root in LABEL_ROOTS.values():
        for mid in ontology.descendants(root):
            by_text.setdefault(ontology.query_text(mid), mid)
    queries = []
    for english, texts in LABEL_TRANSLATIONS.items():
        if english not in by_text:
            raise ConfigError(f"translated label {english!r} is not an AudioSet class name")
        mid = by_text[english]
        relevant = labels.clips_with(mid)
        if len(relevant) < min_clips:
            continue
        for language, text in zip(LANGUAGES, texts):
            queries.append(Query(f"{language}:label:{mid}", text, relevant, language=language))
    index = AspectIndex(clips)
    for aspects, texts in ASPECT_TRANSLATIONS.items():
        relevant = index.containing(aspects)
        if len(relevant) < min_clips:
            continue
        key = "+".join(aspects)
        for language, text in zip(LANGUAGES, texts):
            queries.append(Query(f"{language}:aspects:{key}", text, relevant, language=language))
    return QuerySet("multilingual", tuple(queries), "hand-written de/es/fr label and aspect queries")


__all__ = [
    "AspectIndex",
    "ClipLabels",
    "LABEL_ROOTS",
    "Ontology",
    "Query",
    "QuerySet",
    "aspect_relevance",
    "aspect_subset_queries",
    "intent_queries",
    "label_queries",
    "load_ontology",
    "multilingual_queries",
    "normalise_aspect",
    "ontology_path",
    "restrict",
]
