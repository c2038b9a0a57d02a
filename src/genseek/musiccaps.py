"""The MusicCaps captions shipped with genseek (CC BY-SA 4.0, Google; see data/MUSICCAPS-LICENSE.md)."""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Clip:
    """One MusicCaps clip: YouTube id, expert caption, aspect list and AudioSet label ids (mids)."""

    ytid: str
    caption: str
    aspects: tuple[str, ...]
    is_eval: bool
    labels: tuple[str, ...] = ()


def csv_path() -> Path:
    """Path of the bundled ``musiccaps-public.csv``."""
    return Path(str(resources.files("genseek") / "data" / "musiccaps-public.csv"))


def load_clips(path: str | Path | None = None, limit: int | None = None) -> list[Clip]:
    """Read MusicCaps clips (all 5,521 by default) from the bundled CSV or ``path``."""
    clips: list[Clip] = []
    with open(path or csv_path(), newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            aspects = tuple(str(a).strip() for a in ast.literal_eval(row["aspect_list"]) if str(a).strip())
            labels = tuple(m.strip() for m in row.get("audioset_positive_labels", "").split(",") if m.strip())
            clips.append(Clip(row["ytid"], row["caption"].strip(), aspects, row["is_audioset_eval"] == "True", labels))
            if limit is not None and len(clips) >= limit:
                break
    return clips
