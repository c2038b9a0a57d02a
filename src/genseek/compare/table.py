"""The text ``genseek compare`` prints: plain search and generative search side by side.

Each list shows rank, point id, the payload field chosen with ``show`` (truncated to fit) and
score. Generative results plain search's top ``limit`` did not contain are marked :data:`NEW`, and
every generative result names the row that ranked it highest — ``seed <i>`` or ``anchor``, with
``+n`` when n more rows also found it. Every line fits in ``width`` columns: the two lists stand
side by side when there is room for their text, one above the other otherwise.
"""

from __future__ import annotations

from typing import Any

from .core import QueryComparison, found_by_label, payload_value

#: Mark of a generative result that plain search's top ``limit`` did not contain.
NEW = "+"
#: Separator between the two lists.
GUTTER = " │ "
#: Narrowest text column worth showing side by side; below it the lists are stacked.
MIN_TEXT = 16
#: Longest id shown (UUIDs are cut; ``--json`` has them whole).
MAX_ID = 12


def shorten(text: str, width: int) -> str:
    """``text`` on one line (whitespace collapsed), cut to ``width`` characters with ``…``."""
    text = " ".join(str(text).split())
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _score(value: float) -> str:
    return f"{value:.4g}"


def _found(point: Any) -> str:
    label = found_by_label(point)
    more = len({hit.seed for hit in point.found_by}) - 1
    return f"{label} +{more}" if more > 0 else label


def settings_lines(settings: dict[str, Any], width: int) -> list[str]:
    """What both searches are (from :meth:`~genseek.compare.core.Comparison.describe`), each line ≤ ``width``."""
    gen = settings["genseek"]
    vector = settings["vector"] or "(default)"
    lines = [f"collection {settings['collection']!r}, vector {vector!r} ({settings['dim']}-d, {settings['distance']})"]
    if settings.get("tenant"):
        lines[0] += f", tenant {settings['tenant']['field']}={settings['tenant']['value']!r}"
    plain = f"plain search: the query embedded with {settings['plain']['encoder']!r}, one nearest-neighbour search"
    lines.append(plain)
    if settings["plain"]["uses_query_encoder"]:
        lines.append("  (no anchor encoder given: plain search uses the query encoder; pass --anchor-encoder with the "
                     "catalog's own encoder for a fair baseline)")
    if gen["guidance"] is None:
        guidance = "the prior's default guidance"
    else:
        guidance = f"guidance ω={gen['guidance']:g}" + ("" if gen.get("guidance_given") else " (the prior's default)")
    prior = f" {gen['prior']!r}" if gen.get("prior") else ""
    text = (f"genseek: the query encoded with {gen['encoder']!r} → {gen['sampler']} prior{prior}, "
            f"{gen['n_seeds']} seeds, {guidance}, {gen['fuser']} fusion")
    if gen["anchor"]:
        text += f", + anchor ({gen['anchor']['encoder']!r}, weight {gen['anchor']['weight']:g})"
    lines.append(text)
    lines.append(f"scores: plain = Qdrant's {settings['distance']} score; genseek = the fused {gen['fuser']} score "
                 "(not comparable with plain's)")
    return [line for raw in lines for line in wrap(raw, width)]


def wrap(text: str, width: int) -> list[str]:
    """``text`` as is when it fits, else broken at spaces into lines of at most ``width`` characters;
    continuations are indented 2 more than ``text``'s own leading spaces, and a word longer than a
    line is cut with ``…``."""
    if len(text) <= width:
        return [text]  # kept as is: aligned columns keep their spacing
    indent = " " * (len(text) - len(text.lstrip(" ")))
    lines, current = [], indent
    for word in text.split():
        if current.strip() and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = indent + "  " + word
        else:
            current = f"{current} {word}" if current.strip() else current + word
    lines.append(current)
    return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]


def comparison_lines(qc: QueryComparison, *, show: str | None = None, width: int = 100) -> list[str]:
    """The block of one query (see the module docstring); every line is at most ``width`` characters."""
    plain, generative = qc.plain_points, qc.generative_points
    ids = [shorten(str(p.id), MAX_ID) for p in plain + generative]
    id_width = max((len(i) for i in ids), default=1)
    scores = [_score(p.score) for p in plain + generative]
    score_width = max([len(s) for s in scores] + [5])
    labels = [_found(p) for p in generative]
    label_width = max([len(label) for label in labels] + [len("found by")])
    left_fixed = 2 + 1 + id_width + 1 + 1 + score_width  # "rr id text score"
    right_fixed = 1 + 1 + 2 + 1 + id_width + 1 + 1 + label_width + 1 + score_width
    header = [
        f"query {qc.query!r}: {qc.new_count} of {len(generative)} genseek results are not in plain search's "
        f"top {qc.limit} ({NEW}); found by = the seed or the anchor that ranked it highest (+n: n more found it)",
    ]
    header = [line for raw in header for line in wrap(raw, width)]
    side = (width - len(GUTTER)) // 2
    text_left = side - left_fixed if show else 0
    text_right = (width - len(GUTTER) - side) - right_fixed if show else 0
    if show is None or min(text_left, text_right) >= MIN_TEXT:
        return header + _side_by_side(qc, show, side, width - len(GUTTER) - side, id_width, score_width,
                                      label_width, text_left, text_right)
    return header + _stacked(qc, show, width, id_width, score_width, label_width)


def _text(point: Any, show: str | None, width: int) -> str:
    if show is None:
        return ""
    value = payload_value(point, show)
    return shorten("" if value is None else value, width).ljust(width) + " "


def _plain_row(rank: int, point: Any, show: str | None, id_width: int, score_width: int, text: int) -> str:
    return (f"{rank:>2} {shorten(str(point.id), MAX_ID):<{id_width}} " + _text(point, show, text)
            + f"{_score(point.score):>{score_width}}")


def _generative_row(qc: QueryComparison, rank: int, point: Any, show: str | None, id_width: int, score_width: int,
                    label_width: int, text: int) -> str:
    mark = NEW if qc.is_new(point) else " "
    return (f"{mark} {rank:>2} {shorten(str(point.id), MAX_ID):<{id_width}} " + _text(point, show, text)
            + f"{_found(point):<{label_width}} {_score(point.score):>{score_width}}")


def _side_by_side(qc: QueryComparison, show: str | None, left: int, right: int, id_width: int, score_width: int,
                  label_width: int, text_left: int, text_right: int) -> list[str]:
    field = f" · {show}" if show else ""
    head_left = (shorten(f"plain search{field}", left - score_width - 1).ljust(left - score_width)
                 + "score".rjust(score_width))
    head_right = (shorten(f"  genseek{field}", right - label_width - score_width - 2)
                  .ljust(right - label_width - score_width - 1)
                  + f"{'found by':<{label_width}} " + "score".rjust(score_width))
    lines = [head_left.ljust(left) + GUTTER + head_right]
    plain, generative = qc.plain_points, qc.generative_points
    for i in range(max(len(plain), len(generative))):
        cell_left = _plain_row(i + 1, plain[i], show, id_width, score_width, text_left) if i < len(plain) else ""
        cell_right = (_generative_row(qc, i + 1, generative[i], show, id_width, score_width, label_width, text_right)
                      if i < len(generative) else "")
        lines.append((cell_left.ljust(left) + GUTTER + cell_right).rstrip())
    return lines


def _stacked(qc: QueryComparison, show: str | None, width: int, id_width: int, score_width: int,
             label_width: int) -> list[str]:
    text_plain = max(width - (2 + 1 + id_width + 1 + 1 + score_width), 0)
    text_gen = max(width - (1 + 1 + 2 + 1 + id_width + 1 + 1 + label_width + 1 + score_width), 0)
    lines = [shorten("plain search:", width)]
    lines += [_plain_row(r, p, show, id_width, score_width, text_plain)[:width]
              for r, p in enumerate(qc.plain_points, 1)]
    lines.append(shorten("genseek:", width))
    lines += [_generative_row(qc, r, p, show, id_width, score_width, label_width, text_gen)[:width]
              for r, p in enumerate(qc.generative_points, 1)]
    return lines


__all__ = ["GUTTER", "NEW", "comparison_lines", "settings_lines", "shorten", "wrap"]
