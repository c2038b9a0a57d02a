"""PNG plots of training and evaluation results (matplotlib, ``pip install 'genseek[train]'``).

* ``loss.png`` — training loss (and validation loss) against step, one line per run;
* ``fmd_miscs_vs_guidance.png`` — FMD and MISCS of diffusion seeds against ω (Diff4Steer fig. 6–7),
  with the regression baseline as a dashed line;
* ``recall_vs_guidance.png`` — R@10 against ω per n_seeds (Diff4Steer fig. 8), baselines dashed;
* ``recall_vs_steps.png`` — R@10 against sampling steps, when the results hold a steps sweep.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import MissingDependencyError


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("genseek's evaluation plots", "matplotlib", "train") from exc
    return plt


def _log(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "training_log.json"
    return json.loads(path.read_text())


def plot_losses(logs: dict[str, str | Path], path: Path) -> Path:
    """Training/validation loss curves of several runs (``label -> run directory or log file``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for label, source in logs.items():
        log = _log(source)
        hist = log.get("history", [])
        if hist:
            ax.plot([h["step"] for h in hist], [h["loss"] for h in hist], label=f"{label} train")
        val = log.get("validation", [])
        if val:
            ax.plot([v["step"] for v in val], [v["val_loss"] for v in val], "o--", label=f"{label} validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (EDM-weighted / normalised MSE)")
    ax.set_yscale("log")
    ax.set_title("training loss")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _rows(results: dict[str, Any], method: str, fuser: str | None = None) -> list[dict[str, Any]]:
    return [r for r in results["rows"] if r["method"] == method and (fuser is None or r["fuser"] == fuser)]


def plot_results(results: dict[str, Any], out: Path, *, training_logs: dict[str, str | Path] | None = None) -> list[str]:
    """Write the evaluation plots into ``out``; returns the file names written."""
    plt = _pyplot()
    written: list[str] = []
    if training_logs:
        written.append(plot_losses(training_logs, out / "loss.png").name)
    fuser = results["fusers"][0] if results.get("fusers") else "rrf"
    diff = _rows(results, "diffusion", fuser)
    baseline = {r["method"]: r for r in results["rows"] if r["method"] in ("direct", "regression")}
    if diff and any("guidance" in r for r in diff):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for n in sorted({r["n_seeds"] for r in diff}):
            sub = sorted((r for r in diff if r["n_seeds"] == n), key=lambda r: r["guidance"])
            axes[0].plot([r["guidance"] for r in sub], [r["fmd"] for r in sub], "o-", label=f"diffusion n={n}")
            axes[1].plot([r["guidance"] for r in sub], [r["miscs"] for r in sub], "o-", label=f"diffusion n={n}")
        for name, row in baseline.items():
            axes[0].axhline(row["fmd"], linestyle="--", color="gray" if name == "regression" else "black", label=name)
        axes[1].axhline(1.0, linestyle="--", color="gray", label="regression (1 seed)")
        axes[0].set(xlabel="guidance ω", ylabel="FMD ↓", title="seed quality (FMD vs catalog)")
        axes[1].set(xlabel="guidance ω", ylabel="MISCS ↓", title="seed diversity (MISCS)")
        for ax in axes:
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "fmd_miscs_vs_guidance.png", dpi=110)
        plt.close(fig)
        written.append("fmd_miscs_vs_guidance.png")

        fig, ax = plt.subplots(figsize=(6.4, 4))
        for n in sorted({r["n_seeds"] for r in diff}):
            sub = sorted((r for r in diff if r["n_seeds"] == n), key=lambda r: r["guidance"])
            ax.plot([r["guidance"] for r in sub], [r["R@10"] for r in sub], "o-", label=f"diffusion n={n} ({fuser})")
        both = sorted(_rows(results, "diffusion+direct"), key=lambda r: (r["n_seeds"], r["guidance"]))
        for n in sorted({r["n_seeds"] for r in both}):
            sub = [r for r in both if r["n_seeds"] == n]
            ax.plot([r["guidance"] for r in sub], [r["R@10"] for r in sub], "s-", label=f"diffusion+direct n={n - 1}+1")
        for name, row in baseline.items():
            ax.axhline(row["R@10"], linestyle="--", color="gray" if name == "regression" else "black", label=name)
        ax.set(xlabel="guidance ω", ylabel="R@10 ↑", title="retrieval against guidance")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "recall_vs_guidance.png", dpi=110)
        plt.close(fig)
        written.append("recall_vs_guidance.png")
    steps_rows = results.get("steps_sweep") or []
    if steps_rows:
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for key in sorted({r.get("label", "") for r in steps_rows}):
            sub = sorted((r for r in steps_rows if r.get("label", "") == key), key=lambda r: r["steps"])
            ax.plot([r["steps"] for r in sub], [r["R@10"] for r in sub], "o-", label=key or "diffusion")
        ax.set(xlabel="steps", ylabel="R@10 ↑", xscale="log", title="retrieval against steps")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "recall_vs_steps.png", dpi=110)
        plt.close(fig)
        written.append("recall_vs_steps.png")
    return written


__all__ = ["plot_losses", "plot_results"]
