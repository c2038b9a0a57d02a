"""AudioSet-label relevance judgements: exact checks on a hand-made ontology, sanity checks on the bundled data."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest

from genseek.errors import ConfigError
from genseek.musiccaps import Clip, load_clips
from genseek.training.relevance import (
    LABEL_ROOTS,
    LABEL_TRANSLATIONS,
    LANGUAGES,
    Ontology,
    Query,
    QuerySet,
    aspect_relevance,
    aspect_subset_queries,
    intent_queries,
    label_queries,
    load_ontology,
    multilingual_queries,
    normalise_aspect,
    ontology_path,
    restrict,
)

GENRE, MOOD, INSTRUMENT = LABEL_ROOTS["genre"], LABEL_ROOTS["mood"], LABEL_ROOTS["instrument"]
ROCK, JAZZ, METAL, PUNK, GRUNGE, THRASH = "/g/rock", "/g/jazz", "/g/metal", "/g/punk", "/g/grunge", "/g/thrash"
SAD = "/t/sad"
VIOLIN, KEYS, PIANO, ORGAN = "/i/violin", "/i/keys", "/i/piano", "/i/organ"


@pytest.fixture(scope="module")
def onto() -> Ontology:
    """A small hierarchy under the real root mids; ORGAN sits under both KEYS and ROCK (AudioSet is a DAG)."""
    names = {
        GENRE: "Music genre", ROCK: "Rock music", JAZZ: "Jazz", METAL: "Heavy metal", PUNK: "Punk rock",
        GRUNGE: "Grunge", THRASH: "Thrash metal", MOOD: "Music mood", SAD: "Sad music",
        INSTRUMENT: "Musical instrument", VIOLIN: "Violin, fiddle", KEYS: "Keyboard (musical)", PIANO: "Piano",
        ORGAN: "Organ",
    }
    children = {
        GENRE: (ROCK, JAZZ), ROCK: (METAL, PUNK, GRUNGE), METAL: (THRASH,), MOOD: (SAD,),
        INSTRUMENT: (VIOLIN, KEYS), KEYS: (PIANO, ORGAN), PIANO: (ORGAN,),
    }
    return Ontology(names=names, children=children)


def clip(labels=(), aspects=(), i=0) -> Clip:
    return Clip(f"yt{i}", f"caption {i}", tuple(aspects), False, tuple(labels))


@pytest.fixture(scope="module")
def labelled() -> list[Clip]:
    rows = [
        (THRASH,), (METAL,), (PUNK,), (PUNK, VIOLIN), (JAZZ,), (ROCK,), (KEYS,), (PIANO,), (SAD, PIANO), (), (GRUNGE,),
    ]
    return [clip(labels, i=i) for i, labels in enumerate(rows)]


@pytest.fixture(scope="module")
def real_clips() -> list[Clip]:
    return load_clips()


@pytest.fixture(scope="module")
def real_onto() -> Ontology:
    return load_ontology()


@pytest.fixture(scope="module")
def multi(real_clips, real_onto) -> QuerySet:
    return multilingual_queries(real_clips, real_onto, min_clips=10)


def by_qid(query_set: QuerySet) -> dict[str, Query]:
    return {q.qid: q for q in query_set.queries}


# -- the ontology ----------------------------------------------------------------------------------


def test_descendants_is_the_reflexive_transitive_closure(onto):
    assert onto.descendants(THRASH) == {THRASH}
    assert onto.descendants(METAL) == {METAL, THRASH}
    assert onto.descendants(ROCK) == {ROCK, METAL, PUNK, GRUNGE, THRASH}
    assert onto.descendants(GENRE) == {GENRE, ROCK, JAZZ, METAL, PUNK, GRUNGE, THRASH}
    # a class reachable by two paths is listed once
    assert onto.descendants(KEYS) == {KEYS, PIANO, ORGAN}
    assert onto.descendants(INSTRUMENT) == {INSTRUMENT, VIOLIN, KEYS, PIANO, ORGAN}
    with pytest.raises(ConfigError, match="not an AudioSet class id"):
        onto.descendants("/m/nope")


def test_descendants_survive_a_cycle():
    cyclic = Ontology(names={"a": "A", "b": "B"}, children={"a": ("b",), "b": ("a",)})
    assert cyclic.descendants("a") == {"a", "b"}


def test_query_text_drops_synonyms_and_qualifiers(onto, real_onto):
    assert onto.query_text(VIOLIN) == "Violin"
    assert onto.query_text(KEYS) == "Keyboard"
    assert onto.query_text(ROCK) == "Rock music"
    assert real_onto.query_text("/m/07y_7") == "Violin"  # "Violin, fiddle"
    assert real_onto.names["/m/05148p4"] == "Keyboard (musical)"
    assert real_onto.query_text("/m/05148p4") == "Keyboard"
    # no real query text keeps a parenthesis, a comma or surrounding blanks
    for root in LABEL_ROOTS.values():
        for mid in real_onto.descendants(root):
            text = real_onto.query_text(mid)
            assert text and text == text.strip() and not re.search(r"[(),]", text), (mid, text)


def test_bundled_ontology_matches_the_recorded_hash(real_onto):
    recorded = Path(str(resources.files("genseek") / "data" / "AUDIOSET-LICENSE.md")).read_text(encoding="utf-8")
    match = re.search(r"sha256:\s*([0-9a-f]{64})", recorded)
    assert match, "AUDIOSET-LICENSE.md records no sha256"
    assert hashlib.sha256(ontology_path().read_bytes()).hexdigest() == match.group(1)
    assert len(real_onto.names) == 632  # as the licence file says
    assert all(root in real_onto.names for root in LABEL_ROOTS.values())


def test_clip_labels_are_parsed_from_the_csv(real_clips):
    assert len(real_clips) == 5521
    assert real_clips[0].ytid == "-0Gj8-vB1q4"
    assert real_clips[0].labels == ("/m/0140xf", "/m/02cjck", "/m/04rlf")
    assert all(c.labels for c in real_clips)
    assert all(not m.startswith(" ") and m.startswith("/") for c in real_clips[:200] for m in c.labels)


# -- (a) label queries -----------------------------------------------------------------------------


def test_label_queries_relevance_includes_descendants(onto, labelled):
    got = by_qid(label_queries(labelled, onto, min_clips=1))
    assert set(got) == {f"label:{m}" for m in (ROCK, JAZZ, METAL, PUNK, GRUNGE, THRASH, SAD, VIOLIN, KEYS, PIANO)}
    # ORGAN has no clip; the three roots are never queries
    assert got[f"label:{ROCK}"].relevant == {0, 1, 2, 3, 5, 10}
    assert got[f"label:{METAL}"].relevant == {0, 1}
    assert got[f"label:{THRASH}"].relevant == {0}
    assert got[f"label:{PUNK}"].relevant == {2, 3}
    assert got[f"label:{KEYS}"].relevant == {6, 7, 8}
    assert got[f"label:{PIANO}"].relevant == {7, 8}
    assert got[f"label:{SAD}"].relevant == {8}
    assert got[f"label:{VIOLIN}"].text == "Violin" and got[f"label:{KEYS}"].text == "Keyboard"
    assert all(q.language == "en" and not q.intents for q in got.values())


def test_label_queries_min_clips_and_roots(onto, labelled):
    assert set(by_qid(label_queries(labelled, onto, min_clips=2))) == {
        f"label:{ROCK}", f"label:{METAL}", f"label:{PUNK}", f"label:{KEYS}", f"label:{PIANO}"
    }
    assert set(by_qid(label_queries(labelled, onto, min_clips=3, roots=("genre",)))) == {f"label:{ROCK}"}
    assert set(by_qid(label_queries(labelled, onto, min_clips=1, roots=("mood",)))) == {f"label:{SAD}"}
    assert len(label_queries(labelled, onto, min_clips=7)) == 0
    with pytest.raises(ConfigError, match="unknown label root 'tempo'"):
        label_queries(labelled, onto, roots=("genre", "tempo"))


# -- (b) intent queries ----------------------------------------------------------------------------


def test_intent_queries_intents_are_children_with_enough_clips(onto, labelled):
    # min_intent_clips=1: ROCK has 3 intents; METAL only 1 (THRASH); the root GENRE (ROCK + JAZZ) is no query
    got = by_qid(intent_queries(labelled, onto, min_intent_clips=1))
    assert set(got) == {f"intents:{ROCK}"}
    rock = got[f"intents:{ROCK}"]
    assert rock.text == "Rock music"
    assert rock.intents == {"Heavy metal": {0, 1}, "Punk rock": {2, 3}, "Grunge": {10}}
    # relevant = union of the intents: clip 5 (plain "Rock music") is in none of them
    assert rock.relevant == {0, 1, 2, 3, 10}
    # min_intent_clips=2 drops Grunge but keeps 2 intents
    rock2 = by_qid(intent_queries(labelled, onto, min_intent_clips=2))[f"intents:{ROCK}"]
    assert rock2.intents == {"Heavy metal": {0, 1}, "Punk rock": {2, 3}} and rock2.relevant == {0, 1, 2, 3}
    assert len(intent_queries(labelled, onto, min_intent_clips=3)) == 0
    assert len(intent_queries(labelled, onto, min_intent_clips=1, min_intents=4)) == 0
    # instrument root: KEYS has children PIANO {7, 8} and ORGAN (no clips) -> 1 intent, no query
    assert len(intent_queries(labelled, onto, root="instrument", min_intent_clips=1)) == 0


def test_the_root_is_never_an_intent_query(onto):
    # clips spread over JAZZ and ROCK only: the only class with 2 populated children is the root
    clips = [clip((JAZZ,), i=0), clip((JAZZ,), i=1), clip((ROCK,), i=2), clip((ROCK,), i=3)]
    assert len(intent_queries(clips, onto, min_intent_clips=1)) == 0


def test_rock_music_is_an_intent_query_on_the_real_data(real_clips, real_onto):
    queries = intent_queries(real_clips, real_onto)
    rock = {q.text: q for q in queries.queries}["Rock music"]
    assert rock.qid == "intents:/m/06by7"
    assert {"Heavy metal", "Punk rock"} <= set(rock.intents)
    assert len(rock.intents) >= 2 and all(len(v) >= 3 for v in rock.intents.values())
    assert rock.relevant == frozenset().union(*rock.intents.values())
    assert "Music genre" not in {q.text for q in queries.queries}
    for q in queries.queries:
        assert len(q.intents) >= 2 and q.relevant == frozenset().union(*q.intents.values())
        # an intent's clips carry that child class (or one below it)
        for name, docs in q.intents.items():
            child = next(m for m in real_onto.children[q.qid.split(":", 1)[1]] if real_onto.names[m] == name)
            below = real_onto.descendants(child)
            assert all(set(real_clips[i].labels) & below for i in docs)


# -- (c) aspect queries ----------------------------------------------------------------------------


def test_normalise_aspect():
    assert normalise_aspect("  Male  Vocal. ") == "male vocal"
    assert normalise_aspect("Rock!!") == "rock"
    assert normalise_aspect("(live) performance") == "live performance"
    assert normalise_aspect("Hip-Hop") == "hip-hop"  # hyphens are kept
    assert normalise_aspect("hip hop") != normalise_aspect("hip-hop")


@pytest.fixture(scope="module")
def aspect_clips() -> list[Clip]:
    rows = [
        ("Male vocal", "Rock!", "slow tempo"),
        ("male  vocal", "rock", "fast tempo"),
        ("female vocal", "rock", "fast tempo"),
        (),
        ("Male Vocal",),
    ]
    return [clip(aspects=a, i=i) for i, a in enumerate(rows)]


def test_aspect_relevance_is_normalised_containment(aspect_clips):
    assert aspect_relevance(aspect_clips, ["male vocal", "rock"]) == {0, 1}
    assert aspect_relevance(aspect_clips, ["ROCK", "Fast Tempo"]) == {1, 2}
    assert aspect_relevance(aspect_clips, ["male vocal"]) == {0, 1, 4}
    assert aspect_relevance(aspect_clips, ["male vocal", "rock"], source=2) == {0, 1, 2}  # source always in
    assert aspect_relevance(aspect_clips, ["jazz"]) == frozenset()
    assert aspect_relevance(aspect_clips, ["jazz"], source=3) == {3}


def test_aspect_subset_queries_skip_clips_without_aspects(aspect_clips):
    queries = aspect_subset_queries(aspect_clips, [0, 1, 2, 3, 4], seed=0, per_clip=2)
    assert len(queries) == 8  # clip 3 has no aspects: 4 clips x 2
    owners = [int(q.qid.split(":")[1]) for q in queries.queries]
    assert sorted(set(owners)) == [0, 1, 2, 4]
    assert [q.qid.split(":")[2] for q in queries.queries] == [str(i) for i in range(8)]
    for q, owner in zip(queries.queries, owners):
        parts = q.text.split(", ")
        assert set(parts) <= set(aspect_clips[owner].aspects)  # a subset of the source's own aspects
        assert owner in q.relevant
        assert q.relevant == aspect_relevance(aspect_clips, parts, source=owner)
    again = aspect_subset_queries(aspect_clips, [0, 1, 2, 3, 4], seed=0, per_clip=2)
    assert again.queries == queries.queries  # deterministic for a seed


def test_aspect_subset_queries_on_real_clips(real_clips):
    ids = list(range(0, 5521, 401))
    queries = aspect_subset_queries(real_clips, ids, seed=3, name="test-aspects")
    assert queries.name == "test-aspects" and len(queries) == len(ids)
    for q in queries.queries:
        owner = int(q.qid.split(":")[1])
        assert q.qid.startswith("test-aspects:") and owner in q.relevant
        wanted = {normalise_aspect(a) for a in q.text.split(", ")}
        assert 1 <= len(wanted) <= 4
        for i in q.relevant:
            assert wanted <= {normalise_aspect(a) for a in real_clips[i].aspects}


# -- restrict --------------------------------------------------------------------------------------


def test_restrict_limits_relevance_and_drops_empty_queries(onto, labelled):
    labels = label_queries(labelled, onto, min_clips=1)
    sub = restrict(labels, [0, 2, 7], name="held-out")
    got = by_qid(sub)
    assert sub.name == "held-out" and sub.description == labels.description
    assert got[f"label:{ROCK}"].relevant == {0, 2}
    assert got[f"label:{PUNK}"].relevant == {2}
    assert got[f"label:{KEYS}"].relevant == {7}
    assert f"label:{JAZZ}" not in got and f"label:{SAD}" not in got  # nothing relevant left
    assert set(got) == {f"label:{m}" for m in (ROCK, METAL, THRASH, PUNK, KEYS, PIANO)}
    assert got[f"label:{ROCK}"].text == "Rock music"
    assert restrict(labels, range(len(labelled))).name == "labels"


def test_restrict_drops_intent_queries_left_with_one_intent(onto, labelled):
    intents = intent_queries(labelled, onto, min_intent_clips=1)
    kept = by_qid(restrict(intents, [0, 2, 10, 5]))[f"intents:{ROCK}"]
    assert kept.intents == {"Heavy metal": {0}, "Punk rock": {2}, "Grunge": {10}}
    assert kept.relevant == {0, 2, 10}
    two = by_qid(restrict(intents, [1, 3]))[f"intents:{ROCK}"]
    assert two.intents == {"Heavy metal": {1}, "Punk rock": {3}}  # an emptied intent is removed
    assert len(restrict(intents, [0, 1, 4, 5])) == 0  # only Heavy metal left: not ambiguous any more
    assert len(restrict(intents, [4, 5, 6])) == 0


def test_restrict_keeps_language(real_clips, multi):
    half = restrict(multi, range(0, len(real_clips), 2))
    assert {q.language for q in half.queries} == set(LANGUAGES)
    assert all(q.relevant and all(i % 2 == 0 for i in q.relevant) for q in half.queries)


# -- multilingual ----------------------------------------------------------------------------------


def test_multilingual_queries_have_the_english_relevance(real_clips, real_onto, multi):
    english = by_qid(label_queries(real_clips, real_onto, min_clips=10))
    label_qs = [q for q in multi.queries if ":label:" in q.qid]
    assert label_qs
    by_mid: dict[str, dict[str, Query]] = {}
    for q in label_qs:
        language, _, mid = q.qid.split(":", 2)
        assert q.language == language
        by_mid.setdefault(mid, {})[language] = q
    for mid, per_language in by_mid.items():
        assert set(per_language) == set(LANGUAGES), mid
        reference = english[f"label:{mid}"]
        texts = LABEL_TRANSLATIONS[reference.text]
        for language, text in zip(LANGUAGES, texts):
            assert per_language[language].text == text
            assert per_language[language].relevant == reference.relevant
    # a translated label is left out only for having < min_clips clips
    translated = {english_q.text for english_q in (english[f"label:{m}"] for m in by_mid)}
    for name in set(LABEL_TRANSLATIONS) - translated:
        assert not any(q.text == name for q in english.values())
    # aspect queries: same relevance in every language, = the English aspects' relevance
    aspect_qs = [q for q in multi.queries if ":aspects:" in q.qid]
    assert aspect_qs
    for q in aspect_qs:
        key = q.qid.split(":aspects:")[1]
        assert q.relevant == aspect_relevance(real_clips, key.split("+")) and len(q.relevant) >= 10
    assert all(q.language in LANGUAGES for q in multi.queries)
    assert len({q.qid for q in multi.queries}) == len(multi)


def test_every_translated_label_is_an_ontology_class(real_onto):
    names = {real_onto.query_text(m) for root in LABEL_ROOTS.values() for m in real_onto.descendants(root)}
    missing = sorted(set(LABEL_TRANSLATIONS) - names)
    assert not missing
    assert all(len(texts) == len(LANGUAGES) and all(texts) for texts in LABEL_TRANSLATIONS.values())


def test_multilingual_min_clips_and_unknown_label(onto, labelled, real_clips, real_onto, multi):
    few = multilingual_queries(real_clips, real_onto, min_clips=200)
    assert 0 < len(few) < len(multi) and all(len(q.relevant) >= 200 for q in few.queries)
    assert {q.qid for q in few.queries} < {q.qid for q in multi.queries}
    # the hand-made ontology lacks the translated classes
    with pytest.raises(ConfigError, match="is not an AudioSet class name"):
        multilingual_queries(labelled, onto)
