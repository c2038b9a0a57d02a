"""A map of one query: its catalog neighbourhood, the seeds and both result lists, in 2-D.

:func:`plot_query_map` projects the :class:`~genseek.compare.neighbourhood.Neighbourhood` of a
:class:`~genseek.compare.core.QueryComparison` to two dimensions and draws:

* a random background sample of the catalog (light grey) and each searched row's nearest points,
  small and translucent in that row's colour (a colour per seed; the anchor is black);
* the seeds (``×``, labelled ``s0``, ``s1`` …) and the anchor / plain search's query vector (``◆``);
* plain search's top ``limit`` (black rings) and genseek's top ``limit``, coloured by the seed (or
  the anchor) that ranked each highest: dots where plain search found them too, stars where only
  genseek did, with a faint line from each genseek result to the seed (or anchor) that found it;
* the top few of both lists labelled on the map (``P1`` …, ``G1`` …), and listed with the chosen
  payload field in a panel beside it, under the legend.

Projection (``method``): ``"pca"`` — the two principal axes of the neighbourhood (background
excluded, so the local structure fills the map; the background is drawn on the same axes),
computed with numpy's SVD; ``"umap"`` — UMAP (``umap-learn``) fitted on every catalog point, the
seeds and query placed with its ``transform``; ``"auto"`` — UMAP when ``umap-learn`` is
importable, PCA otherwise. matplotlib (``pip install 'genseek[train]'``) is imported only when a
map is drawn, without pyplot (no global backend is set).
"""

from __future__ import annotations

import importlib.util
import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingDependencyError
from .core import QueryComparison, found_by_label, payload_value
from .neighbourhood import BACKGROUND, Neighbourhood
from .table import NEW, shorten

#: Results of each list labelled on the map and listed beside it.
LABELLED = 5
METHODS = ("auto", "pca", "umap")
#: Colour of the anchor (and of plain search's query vector).
ANCHOR_COLOUR = "#111111"
#: Colour of points no row's list held (fused only).
FUSED_COLOUR = "#888888"


def _matplotlib() -> Any:
    """matplotlib, or :class:`MissingDependencyError` naming the extra (no pyplot: no global backend state)."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401
        import matplotlib.lines  # noqa: F401
        import matplotlib.backends.backend_agg  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("genseek compare --plot", "matplotlib", "train") from exc
    return matplotlib


def check_dependencies(method: str = "auto") -> None:
    """Raise what :func:`plot_query_map` would for a missing package or a bad ``method``, before any work.

    Raises:
        ConfigError: ``method`` is not one of :data:`METHODS`.
        MissingDependencyError: matplotlib is not installed, or ``method="umap"`` without ``umap-learn``.
    """
    if method not in METHODS:
        raise ConfigError(f"projection must be one of {', '.join(METHODS)}, got {method!r}")
    _matplotlib()
    if method == "umap" and importlib.util.find_spec("umap") is None:
        raise MissingDependencyError("genseek compare --projection umap", "umap-learn", "train")


def project(catalog: np.ndarray, marks: np.ndarray, *, key: np.ndarray, method: str = "auto",
            distance: str = "cosine") -> tuple[np.ndarray, np.ndarray, str]:
    """2-D coordinates of ``catalog`` points and of ``marks`` (seeds, query): ``(catalog_2d, marks_2d, axis_note)``.

    PCA: the two principal axes of ``key`` — the catalog points near the query — so that the local
    structure fills the map; ``marks`` and the other catalog points are drawn on those axes (a seed
    lands where its catalog-space position projects, among the points it is near). UMAP: fitted on
    ``catalog``, ``marks`` placed with its ``transform``. ``axis_note`` names the method (and for
    PCA the share of the neighbourhood's variance each axis keeps).

    Raises:
        ConfigError: an unknown ``method``, or fewer than 3 catalog points near the query.
        MissingDependencyError: ``method="umap"`` without ``umap-learn``.
    """
    if method not in METHODS:
        raise ConfigError(f"projection must be one of {', '.join(METHODS)}, got {method!r}")
    if len(key) < 3:
        raise ConfigError(f"the map needs at least 3 catalog points near the query, found {len(key)}")
    if method == "umap" or (method == "auto" and importlib.util.find_spec("umap") is not None):
        try:
            import umap
        except ImportError as exc:
            raise MissingDependencyError("genseek compare --projection umap", "umap-learn", "train") from exc
        metric = "cosine" if distance in ("cosine", "dot") else "euclidean"
        model = umap.UMAP(n_components=2, random_state=0, metric=metric)
        return model.fit_transform(catalog), model.transform(marks), "UMAP of the catalog points shown"
    mean = key.mean(axis=0)
    _, singular, axes = np.linalg.svd(key - mean, full_matrices=False)
    share = singular**2 / max(float((singular**2).sum()), 1e-12)
    components = axes[:2].T
    note = (f"PCA of the catalog points near the query (the axes keep {share[0]:.0%} and {share[1]:.0%} of their "
            "variance); everything else drawn on the same axes")
    return (catalog - mean) @ components, (marks - mean) @ components, note


def _row_colours(n_rows: int, anchor_index: int | None, mpl: Any) -> list[Any]:
    """A colour per searched row: tab10 without its grey (which the background uses), tab20 beyond 9 seeds."""
    generated = n_rows - (anchor_index is not None)
    if generated <= 9:
        cmap = mpl.colormaps["tab10"]
        palette = [cmap(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
    else:
        cmap = mpl.colormaps["tab20"]
        palette = [cmap(i) for i in range(20) if i not in (14, 15)]
    colours = [palette[i % len(palette)] for i in range(generated)]
    if anchor_index is not None:
        colours.insert(anchor_index, ANCHOR_COLOUR)
    return colours


def _best_row(point: Any) -> int | None:
    if not point.found_by:
        return None
    return min(point.found_by, key=lambda h: (h.rank, not h.anchor, h.seed)).seed


def plot_query_map(qc: QueryComparison, hood: Neighbourhood, path: str | os.PathLike[str], *,
                   show: str | None = None, method: str = "auto", distance: str = "cosine",
                   title: str | None = None, dpi: int = 100) -> Path:
    """Draw the map of ``qc`` (see the module docstring) into ``path`` (PNG; folders are created); returns the path.

    Raises:
        MissingDependencyError: matplotlib (or, for ``method="umap"``, umap-learn) is not installed.
        ConfigError: an unknown ``method``, or fewer than 3 catalog points near the query.
    """
    mpl = _matplotlib()
    near = hood.source != BACKGROUND
    marks = np.vstack([hood.rows, hood.query_vector[None, :]])
    catalog2, marks2, note = project(hood.vectors, marks, key=hood.vectors[near], method=method, distance=distance)
    anchor_index = qc.generative.anchor_index
    colours = _row_colours(len(hood.rows), anchor_index, mpl)
    anchor_is_query = anchor_index is not None and np.allclose(hood.rows[anchor_index], hood.query_vector, atol=1e-5)

    fig = mpl.figure.Figure(figsize=(13, 7.4), dpi=dpi)
    mpl.backends.backend_agg.FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 2, width_ratios=(2.2, 1), wspace=0.02, left=0.04, right=0.99, top=0.89, bottom=0.05)
    ax, side = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    coords = dict(zip(hood.ids, catalog2))
    _draw_catalog(ax, catalog2, hood, colours, anchor_index)
    _draw_results(ax, qc, coords, marks2, colours)
    _draw_marks(ax, marks2, colours, anchor_index, anchor_is_query)
    _label_results(ax, qc, coords)
    _frame(ax, catalog2[near], marks2)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(note, fontsize=8.5, color="#444444")

    side.axis("off")
    handles = _legend_handles(mpl.lines.Line2D, qc, colours, anchor_index, anchor_is_query, hood)
    legend = side.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, borderaxespad=0.0,
                         handletextpad=0.6, labelspacing=0.45)
    fig.canvas.draw()  # the legend's height places the result list under it
    box = legend.get_window_extent().transformed(side.transAxes.inverted())
    _result_panel(side, qc, show, top=box.y0 - 0.04)
    fig.suptitle(title or f"genseek compare — {qc.query!r}", fontsize=13, x=0.04, ha="left", y=0.975)
    rows_text = "each seed's, the anchor's" if anchor_index is not None else "each seed's"
    subtitle = (f"{int(near.sum())} catalog points near the query ({rows_text} and plain search's nearest) "
                f"and {int((~near).sum())} random ones; {qc.new_count} of genseek's top {qc.limit} are not in "
                "plain search's")
    if hood.background_note:
        subtitle += f" — {hood.background_note}"
    fig.text(0.04, 0.925, subtitle, fontsize=9, color="#444444", ha="left")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    return out


def _draw_catalog(ax: Any, xy: np.ndarray, hood: Neighbourhood, colours: list[Any], anchor_index: int | None) -> None:
    """Background points (grey), then each row's nearest points in the row's colour."""
    back = xy[hood.source == BACKGROUND]
    if len(back):
        ax.scatter(back[:, 0], back[:, 1], s=5, c="#c8c8c8", alpha=0.4, linewidths=0, zorder=1, rasterized=True)
    for row in range(len(hood.rows) + 2):
        chosen = xy[hood.source == row]
        if len(chosen):
            colour = colours[row] if row < len(hood.rows) else "#9a9a9a"
            ax.scatter(chosen[:, 0], chosen[:, 1], s=16, color=colour, alpha=0.3 if row == anchor_index else 0.55,
                       linewidths=0, zorder=2, rasterized=True)


def _draw_results(ax: Any, qc: QueryComparison, coords: dict[Any, np.ndarray], marks2: np.ndarray,
                  colours: list[Any]) -> None:
    """Plain search's results as rings; genseek's as dots (also in plain's) or stars (genseek-only),
    coloured by the row that ranked each highest, with a faint line to that row."""
    plain_xy = np.array([coords[p.id] for p in qc.plain_points if p.id in coords]).reshape(-1, 2)
    ax.scatter(plain_xy[:, 0], plain_xy[:, 1], s=110, facecolors="none", edgecolors="black", linewidths=1.3, zorder=4)
    for point in qc.generative_points:
        if point.id not in coords:
            continue
        best = _best_row(point)
        colour = FUSED_COLOUR if best is None else colours[best]
        x, y = coords[point.id]
        if best is not None:
            ax.plot([marks2[best][0], x], [marks2[best][1], y], color=colour, alpha=0.45, linewidth=0.9, zorder=3)
        if qc.is_new(point):
            ax.scatter([x], [y], s=230, marker="*", color=colour, edgecolors="black", linewidths=0.7, zorder=5)
        else:
            ax.scatter([x], [y], s=46, marker="o", color=colour, edgecolors="black", linewidths=0.6, zorder=5)


def _draw_marks(ax: Any, marks2: np.ndarray, colours: list[Any], anchor_index: int | None,
                anchor_is_query: bool) -> None:
    """The seeds (labelled ``s<i>``), the anchor and plain search's query vector."""
    rows2, query2 = marks2[:-1], marks2[-1]
    for index, (x, y) in enumerate(rows2):
        if index == anchor_index:
            continue
        ax.scatter([x], [y], s=120, marker="X", color=colours[index], edgecolors="white", linewidths=1.0, zorder=6)
        ax.annotate(f"s{index}", (x, y), xytext=(5, -9), textcoords="offset points", fontsize=8,
                    color=colours[index], fontweight="bold", zorder=7)
    if anchor_index is not None and not anchor_is_query:
        ax.scatter(*rows2[anchor_index], s=120, marker="D", color=ANCHOR_COLOUR, edgecolors="white", zorder=6)
    ax.scatter(*query2, s=140, marker="D", color=ANCHOR_COLOUR, edgecolors="white", linewidths=1.2, zorder=6)


def _frame(ax: Any, near: np.ndarray, marks: np.ndarray) -> None:
    """Axis limits around the neighbourhood (its 1st–99th percentile, so a stray point does not
    shrink the map) and every mark (seeds, query), with a margin; points further out are cut off."""
    low = np.minimum(np.percentile(near, 1, axis=0), marks.min(axis=0))
    high = np.maximum(np.percentile(near, 99, axis=0), marks.max(axis=0))
    pad = (high - low) * 0.06 + 1e-9
    ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
    ax.set_ylim(low[1] - pad[1], high[1] + pad[1])


def _label_results(ax: Any, qc: QueryComparison, coords: dict[Any, np.ndarray]) -> None:
    labels: dict[Any, list[str]] = {}
    for rank, point in enumerate(qc.plain_points[:LABELLED], 1):
        labels.setdefault(point.id, []).append(f"P{rank}")
    for rank, point in enumerate(qc.generative_points[:LABELLED], 1):
        labels.setdefault(point.id, []).append(f"G{rank}")
    offsets = [(7, 7), (7, -13), (-24, 7), (-24, -13)]
    for n, (pid, names) in enumerate(labels.items()):
        if pid not in coords:
            continue
        ax.annotate(" ".join(names), coords[pid], xytext=offsets[n % len(offsets)], textcoords="offset points",
                    fontsize=8, zorder=8,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#999999", "lw": 0.5, "alpha": 0.85})


def _legend_handles(Line2D: Any, qc: QueryComparison, colours: list[Any], anchor_index: int | None,
                    anchor_is_query: bool, hood: Neighbourhood) -> list[Any]:
    def marker(label: str, shape: str, face: Any, edge: Any = "none", size: float = 8, alpha: float = 1.0) -> Any:
        return Line2D([], [], linestyle="none", marker=shape, markerfacecolor=face, markeredgecolor=edge,
                      markersize=size, alpha=alpha, label=label)

    handles = []
    if (hood.source == BACKGROUND).any():
        handles.append(marker("random catalog points", "o", "#c8c8c8", size=5))
    handles.append(marker("nearest catalog points of a seed", "o", colours[0], size=5, alpha=0.6))
    generated = [i for i in range(len(colours)) if i != anchor_index]
    handles.append(marker(f"seeds s0 … s{generated[-1]} (a colour each)" if len(generated) > 1 else "seed s0",
                          "X", colours[0], "white", 10))
    handles.append(marker("query = the anchor" if anchor_is_query else "query (plain search's vector)",
                          "D", ANCHOR_COLOUR, "white", 9))
    handles.append(marker(f"plain search's top {qc.limit}", "o", "none", "black", 10))
    handles.append(marker("genseek result, also in plain's", "o", colours[0], "black", 7))
    handles.append(marker(f"genseek-only result ({NEW})", "*", colours[0], "black", 13))
    if anchor_index is not None:
        handles.append(marker("genseek result found by the anchor", "o", ANCHOR_COLOUR, "black", 7))
    return handles


def _result_panel(side: Any, qc: QueryComparison, show: str | None, *, top: float) -> None:
    """The labelled results (``P1`` …, ``G1`` …) with their ``show`` field, from ``top`` (axes fraction) down."""
    width = 50
    lines = [f"plain search — top {min(LABELLED, len(qc.plain_points))}"]
    for rank, point in enumerate(qc.plain_points[:LABELLED], 1):
        lines += _entry(f"P{rank}  #{point.id}", point, show, width)
    lines += ["", f"genseek — top {min(LABELLED, len(qc.generative_points))} ({NEW}: not in plain's top {qc.limit})"]
    for rank, point in enumerate(qc.generative_points[:LABELLED], 1):
        mark = NEW if qc.is_new(point) else " "
        lines += _entry(f"G{rank}{mark} #{point.id}  found by {found_by_label(point)}", point, show, width)
    side.text(0.0, top, "\n".join(lines), fontsize=7.8, family="monospace", va="top", ha="left",
              transform=side.transAxes, linespacing=1.35)


def _entry(head: str, point: Any, show: str | None, width: int) -> list[str]:
    value = payload_value(point, show) if show else None
    if value is None:
        return [shorten(head, width)]
    body = textwrap.wrap(" ".join(str(value).split()), width - 4) or [""]
    if len(body) > 2:
        body = [body[0], shorten(" ".join(body[1:]), width - 4)]
    return [shorten(head, width)] + ["    " + line for line in body]


__all__ = ["LABELLED", "METHODS", "check_dependencies", "plot_query_map", "project"]
