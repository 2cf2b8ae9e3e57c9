"""Tables of an ``ik-engine bench`` run: the terminal table and ``results.md``.

Both read the results document that ``benchmarks/bench.py`` writes to ``results.json``.
"""

from __future__ import annotations


def _share(key: str):
    return lambda c: f"{100 * c[key]:.1f} %"


def _number(key: str, spec: str, none: str = "n/a"):
    return lambda c: none if c.get(key) is None else format(c[key], spec)


def _first_call(c: dict) -> str:
    cold, warm = c.get("first_call_cold_s"), c.get("first_call_warm_cache_s")
    if cold is None:
        return f"({c['first_call_in_process_s']:.2f} in-process)"
    return f"{cold:.2f} / " + ("n/a" if warm is None else f"{warm:.2f}")


# (heading, unit, cell -> text): the columns of the main table.
COLUMNS = (
    ("scenario", "", lambda c: c["scenario"]),
    ("method", "", lambda c: c["method"]),
    ("n", "", lambda c: str(c["n"])),
    ("success 1 mm (1°)", "", _share("success_1mm")),
    ("5 mm (5°)", "", _share("success_5mm")),
    ("1 cm", "", _share("success_1cm")),
    ("median time", "ms", _number("median_ms", ".3f")),
    ("p95 time", "ms", _number("p95_ms", ".3f")),
    ("median iterations", "", _number("median_iterations", ".0f")),
    ("median error", "mm", _number("median_error_mm", ".3g")),
    ("limit violations", "", lambda c: str(c["limit_violations"])),
    ("first call cold / warm cache", "s", _first_call),
    ("recompilations", "", _number("recompilations", "d")),
)


def _headings() -> list[str]:
    return [f"{name} ({unit})" if unit else name for name, unit, _ in COLUMNS]


def main_rows(results: dict) -> list[list[str]]:
    """One row per measured (scenario, method) pair, then those that could not run."""
    rows = [[text(c) for _, _, text in COLUMNS] for c in results["cells"] if c["status"] == "ok"]
    for c in results["cells"]:
        if c["status"] in ("not supported", "error"):
            rows.append([c["scenario"], c["method"], "-", c["status"]] + [""] * (len(COLUMNS) - 4))
    return rows


def batch_rows(results: dict) -> list[list[str]]:
    """Batch size, method, solves per second, time per call, success."""
    rows = []
    for c in results["cells"]:
        for b in c.get("batches", []) if c["status"] == "ok" else []:
            rows.append([str(b["batch"]), c["method"], f"{b['solves_per_second']:.0f}",
                         f"{b['seconds_per_call_median'] * 1e3:.2f}", f"{100 * b['success_1mm']:.1f} %",
                         f"{b['median_iterations']:.0f}", f"{b['first_call_s']:.2f}"])
    return rows


BATCH_HEADINGS = ["batch size", "method", "throughput (solves/s)", "time per call (ms)", "success 1 mm",
                  "median iterations", "first call, compiles (s)"]


def _aligned(headings: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headings)]
    line = lambda cells: "  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip()
    return "\n".join([line(headings), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _markdown_table(headings: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(headings) + " |", "|" + " --- |" * len(headings)] + ["| " + " | ".join(r) + " |" for r in rows]


def machine_line(machine: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v is not None)
    return (f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; {machine['os']}; "
            f"Python {machine['python']}; {versions}; commit {machine.get('git_head') or machine.get('git_commit')}")


def terminal_table(results: dict) -> str:
    """The main table (and the batch table) as aligned text."""
    parts = [f"machine: {machine_line(results['machine'])}"]
    if main_rows(results):
        parts += ["", _aligned(_headings(), main_rows(results))]
    if batch_rows(results):
        parts += ["", _aligned(BATCH_HEADINGS, batch_rows(results))]
    if realtime_lines(results):
        parts += ["", *realtime_lines(results)]
    parts += ["", "first call: in fresh processes, empty / warm compile cache (baselines: in-process, nothing is cached "
              "between processes), from making the solver (framework import included); success by float64 FK; "
              "single solves start at the rest pose, loops and tracking warm-start"]
    return "\n".join(parts)


def realtime_lines(results: dict) -> list[str]:
    """The real-time scenarios (benchmarks/realtime.py) in words, one line each."""
    lines = []
    for name, r in results.get("realtime", {}).items():
        if r["status"] != "ok":
            lines.append(f"{name}: {r['status']}: {r.get('message', '')}")
        elif name == "structure_changes":
            lines.append(
                f"structure_changes (fresh process, empty compile cache): import {r['import_s']:.2f} s, first answer "
                f"{r['first_answer_s']:.2f} s; {r['solved']} edits each followed by a solve: median {r['median_ms']:.1f} ms, "
                f"p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms; {r['converged']} converged (median "
                f"{r['converged_median_ms']:.1f} ms), converged but not met by float64 FK: {r['converged_but_not_met']}; "
                f"largest limit violation {r['max_violation_rad']:.1e} rad")
            lines.append(
                f"first answer (fresh process, empty compile cache, from `import ik_engine`, default settings; median of "
                f"{r['repeats']}): arm reach {r['arm_reach_first_answer_s']:.2f} s, full body {r['full_body_first_answer_s']:.2f} s "
                f"(import {r['arm_reach_import_s']:.2f} s); within 1 mm and 1 degree: {r['arm_reach_met_1mm_1deg']}/{r['repeats']} "
                f"and {r['full_body_met_1mm_1deg']}/{r['repeats']}")
        elif name == "out_of_reach":
            moving = r["moving_target"]
            lines.append(
                f"out_of_reach ({r['n']} arm problems, hand target 0.9-1.6 m from the shoulder, random wrist orientation and "
                f"weights; cold start, default settings): weighted cost within 1 % of IPOPT's best of {r['ipopt_starts']} starts "
                f"in {100 * r['within_1pct_of_ipopt']:.1f} %, within 10 % in {100 * r['within_10pct_of_ipopt']:.1f} %, worst "
                f"{r['worst_ratio']:.3f}x; median {r['median_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms; moving target "
                f"({moving['frames']} frames, 1 cm per frame, warm start): largest jump of the hand "
                f"{100 * moving['largest_jump_m']:.2f} cm")
        else:
            for case in ("arm_reach", "full_body"):
                lines.append(
                    f"frame_loop {case}: {r['work_ms']:g} ms of numpy work between solves: median "
                    f"{r[case + '_between_median_ms']:.3f} ms, p95 {r[case + '_between_p95_ms']:.3f} ms; back to back: median "
                    f"{r[case + '_back_to_back_median_ms']:.3f} ms, p95 {r[case + '_back_to_back_p95_ms']:.3f} ms "
                    f"({r['frames']} frames alternating in blocks of 20; compilations {r[case + '_compilations']})")
    return lines


def _settings_lines(results: dict) -> list[str]:
    """Each method's settings, once per distinct set (the scenarios that use it named)."""
    lines = []
    for method in results["methods"]:
        groups: dict[str, list[str]] = {}
        for c in results["cells"]:
            if c["method"] == method and "settings" in c:
                text = ", ".join(f"{k}={v}" for k, v in c["settings"].items())
                groups.setdefault(text, []).append(c["scenario"])
        for text, scenarios in groups.items():
            lines.append(f"- **{method}** ({', '.join(scenarios)}): {text}")
    return lines


def markdown(results: dict) -> str:
    """results.md: the command, the machine, the tables with units, settings and notes."""
    s = results["settings"]
    lines = [
        "# ik-engine benchmark", "",
        f"Command: `{results['command']}` ({results['seconds']:.0f} s)", "",
        f"Machine: {machine_line(results['machine'])}", "",
        f"Skeleton: {s['skeleton_name']} (`--skeleton {s['skeleton']}`); seed {s['seed']}; n = {s['n']}"
        + (" (--quick)" if s["quick"] else "") + ".", "",
        f"Success rule (every method): {s['success_rule']}. Solvers are asked for {s['position_tolerance_m'] * 1e3:g} mm "
        f"and {s['orientation_tolerance_rad']:g} rad. Limit violations: solutions beyond a joint limit by more than "
        f"{s['limit_violation_threshold_rad']:g} rad.", "",
        "## Results per scenario and method", "",
        *_markdown_table(_headings(), main_rows(results)), "",
        "Time: wall time of one public call (`solve`, a baseline function; batch_scaling: one `solve_batch` call of the "
        "largest batch divided by its size), after a first call that compiles. Iterations are each method's own: LM "
        "and gradient iterations (over all restarts), CCD sweeps, FABRIK reaching passes, IPOPT iterations (over its "
        "retries). Every method clips its answer into the limits before it is measured, so limit violations show that "
        "this holds rather than a difference between methods. First call: our solver in fresh processes, from making "
        "the solver (the framework's import included), with an empty and then a warm compile cache (in brackets: in this process, where --quick measures the fresh "
        "processes once per method); baselines in-process (nothing is cached between processes). Recompilations: "
        "programs compiled after the first call (IPOPT: NLPs built).", "",
    ]
    if batch_rows(results):
        lines += ["## Batch throughput", "", *_markdown_table(BATCH_HEADINGS, batch_rows(results)), ""]
    if realtime_lines(results):
        lines += ["## Real time in use (our default solver)", "", *[f"- {line}" for line in realtime_lines(results)],
                  "", "Scripted as described in benchmarks/realtime.py; every figure from one run of this command.", ""]
    lines += ["## Scenarios", ""]
    lines += [f"- **{name}**: {d['description']} (skeleton {d['skeleton']}, {d['size']} "
              f"{'frames' if d['warm_start'] else 'problems'}{', our solver only' if d['our_solver_only'] else ''})"
              for name, d in results["scenarios"].items()]
    lines += ["", "## Methods and their settings", ""]
    lines += [f"- {name}: {m['label']}: {m['status']}" for name, m in results["methods"].items()]
    lines += ["", *_settings_lines(results), ""]
    skipped = [c for c in results["cells"] if c["status"] != "ok" and c["status"] != "not applicable"]
    if skipped or results["notes"]:
        lines += ["## Not measured", ""]
        lines += [f"- {c['scenario']} / {c['method']}: {c['status']}: {c.get('message', '')}" for c in skipped]
        lines += [f"- {note}" for note in results["notes"]]
        lines.append("")
    if results.get("plots"):
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in results["plots"]] + [""]
    return "\n".join(lines)
