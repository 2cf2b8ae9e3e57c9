"""Plots of an ``ik-engine bench`` run (PNG, matplotlib's Agg renderer, no pyplot state).

Each function reads the results document (what ``results.json`` holds) and writes one PNG:

- ``success_vs_time.png``: success within 1 mm (1 degree) against median time per solve,
  one marker per method and scenario;
- ``error_cdf.png``: per scenario, the fraction of solves at or below an error, a line per method;
- ``time_histograms.png``: per scenario, the distribution of solve times, a histogram per method;
- ``batch_throughput.png``: solves per second against batch size (log-log).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINE_STYLES = ("-", "--", "-.", ":")  # methods whose lines coincide stay visible
ERROR_FLOOR = 1e-4  # mm (and degrees): errors below it are drawn at it on the log axis


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _colours(results: dict) -> dict[str, tuple]:
    """One colour per method, the same in every plot."""
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return {name: palette(i % 10) for i, name in enumerate(results["methods"])}


def _line(results: dict, method: str) -> dict:
    """Colour and line style of a method's lines."""
    i = list(results["methods"]).index(method)
    return {"color": _colours(results)[method], "linestyle": LINE_STYLES[i % len(LINE_STYLES)]}


def _measured(results: dict, exclude_batches: bool = False) -> list[dict]:
    return [c for c in results["cells"] if c["status"] == "ok" and not (exclude_batches and c.get("batches"))]


def _grid(count: int, width: float = 4.6, height: float = 3.5):
    columns = min(3, count)
    rows = math.ceil(count / columns)
    figure = _figure(width * columns + 1.8, height * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes


def _method_legend(figure, results: dict, methods: list[str]) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linewidth=2, label=f"{m}: {results['methods'][m]['label']}", **_line(results, m)) for m in methods]
    figure.legend(handles=handles, loc="outside right upper", title="method", fontsize="small")


def success_vs_time(results: dict, path: Path) -> bool:
    from matplotlib.lines import Line2D

    cells = [c for c in _measured(results) if c["median_ms"] > 0]
    if not cells:
        return False
    colours = _colours(results)
    scenarios = list(dict.fromkeys(c["scenario"] for c in cells))
    figure = _figure(9.5, 5.5)
    ax = figure.add_subplot()
    for c in cells:
        ax.scatter(c["median_ms"], 100 * c["success_1mm"], s=60, color=colours[c["method"]],
                   marker=MARKERS[scenarios.index(c["scenario"]) % len(MARKERS)], edgecolors="black", linewidths=0.5, zorder=3)
    ax.set_xscale("log")
    ax.set_ylim(-4, 104)
    ax.set_xlabel("median time per solve (ms, log scale)")
    ax.set_ylabel("success within 1 mm (and 1°) (% of solves)")
    ax.set_title("Success against time: one marker per method and scenario")
    ax.grid(True, which="both", alpha=0.3)
    methods = list(dict.fromkeys(c["method"] for c in cells))
    method_handles = [Line2D([], [], linestyle="", marker="o", markersize=8, color=colours[m], label=m) for m in methods]
    scenario_handles = [Line2D([], [], linestyle="", marker=MARKERS[i % len(MARKERS)], markersize=8, color="grey",
                               markeredgecolor="black", label=s) for i, s in enumerate(scenarios)]
    figure.legend(handles=method_handles, title="method (colour)", loc="outside right upper", fontsize="small")
    figure.legend(handles=scenario_handles, title="scenario (marker)", loc="outside right lower", fontsize="small")
    figure.savefig(path)
    return True


def _combined_errors(cell: dict) -> np.ndarray:
    """Per solve, max(position error in mm, orientation error in degrees): at most 1 is success."""
    errors = np.maximum(np.asarray(cell["position_errors_mm"], float), np.asarray(cell["rotation_errors_deg"], float))
    return np.maximum(errors, ERROR_FLOOR)


def _scenario_panels(results: dict, cells: list[dict], path: Path, title: str, draw) -> bool:
    """One panel per scenario (log x axis) drawn by ``draw(ax, cells of the scenario)``, the
    methods' legend at the side."""
    scenarios = list(dict.fromkeys(c["scenario"] for c in cells))
    if not scenarios:
        return False
    figure, axes = _grid(len(scenarios))
    for ax, scenario in zip(axes, scenarios):
        draw(ax, [c for c in cells if c["scenario"] == scenario])
        ax.set_xscale("log")
        ax.set_title(scenario)
        ax.grid(True, which="both", alpha=0.3)
    figure.suptitle(title)
    _method_legend(figure, results, list(dict.fromkeys(c["method"] for c in cells)))
    figure.savefig(path)
    return True


def error_cdf(results: dict, path: Path) -> bool:
    def draw(ax, cells):
        for c in cells:
            errors = np.sort(_combined_errors(c))
            fraction = np.arange(1, len(errors) + 1) / len(errors)
            ax.step(np.concatenate([[ERROR_FLOOR], errors]), np.concatenate([[0.0], fraction]), where="post",
                    linewidth=1.6, **_line(results, c["method"]))
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_ylim(-0.02, 1.02)
        rotations = results["scenarios"][cells[0]["scenario"]]["rotations"]
        ax.set_xlabel("error (mm" + (" and °, the larger" if rotations else "") + ", log scale)")
        ax.set_ylabel("fraction of solves at or below")

    title = f"Cumulative error (thin black line: the 1 mm / 1° success threshold; errors below {ERROR_FLOOR:g} drawn at it)"
    return _scenario_panels(results, _measured(results), path, title, draw)


def time_histograms(results: dict, path: Path) -> bool:
    from matplotlib.ticker import MaxNLocator

    def draw(ax, cells):
        times = np.concatenate([c["times_ms"] for c in cells])
        bins = np.geomspace(times.min() * 0.9, times.max() * 1.1, 40)
        for c in cells:
            ax.hist(c["times_ms"], bins=bins, histtype="step", linewidth=1.6, **_line(results, c["method"]))
        ax.set_xlabel("time per solve (ms, log scale)")
        ax.set_ylabel("solves")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))

    cells = [c for c in _measured(results, exclude_batches=True) if min(c["times_ms"]) > 0]
    return _scenario_panels(results, cells, path, "Time per solve (wall time of one call, after the first)", draw)


def batch_throughput(results: dict, path: Path) -> bool:
    from matplotlib.ticker import NullLocator

    cells = [c for c in _measured(results) if c.get("batches")]
    if not cells:
        return False
    figure = _figure(8.5, 5.0)
    ax = figure.add_subplot()
    for c in cells:
        sizes = [b["batch"] for b in c["batches"]]
        ax.plot(sizes, [b["solves_per_second"] for b in c["batches"]], marker="o", linewidth=1.8,
                label=f"{c['method']}: {c['label']}", **_line(results, c["method"]))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sizes = sorted({b["batch"] for c in cells for b in c["batches"]})
    ax.set_xticks(sizes, labels=[str(size) for size in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("batch size (problems in one solve_batch call, log scale)")
    ax.set_ylabel("throughput (solves per second, log scale)")
    scenario = cells[0]["scenario"]
    ax.set_title(f"Batch throughput ({scenario}: arm reach problems)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="method", fontsize="small")
    figure.savefig(path)
    return True


PLOTS = {
    "success_vs_time.png": success_vs_time,
    "error_cdf.png": error_cdf,
    "time_histograms.png": time_histograms,
    "batch_throughput.png": batch_throughput,
}


def write_plots(results: dict, out: Path) -> list[Path]:
    """Every plot that has data, as PNG files under ``out``; returns their paths."""
    written = []
    for name, plot in PLOTS.items():
        if plot(results, out / name):
            written.append(out / name)
    return written
