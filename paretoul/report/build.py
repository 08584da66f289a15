"""Plots and the Markdown/HTML report of a study (images embedded in the HTML)."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from paretoul.audit.study import stored_audits
from paretoul.pareto.choose import Choice, check_rule, choose, measured
from paretoul.pareto.compare import MIN_SEEDS, compare_study
from paretoul.pareto.sentences import measured_on, pairing_lines, reference_text, seeds_text
from paretoul.pareto.summary import summarise_fronts
from paretoul.redact import mask_secrets
from paretoul.report import data as D
from paretoul.report import plots as P
from paretoul.report.render import machine_lines, markdown_to_html, settings_yaml
from paretoul.study.storage.records import StudyData, load_study_data


def make_plots(study: StudyData, out: Path, chosen: Choice | None = None,
               comparisons: dict[str, Any] | None = None, on: str = "search") -> dict[str, Path]:
    """Draw every plot the study has data for; return name -> PNG path (``comparisons``:
    :func:`compare_study`'s result, computed when not given; ``on``: the seeds the method bars
    are measured on — the scatter and HV history always show the search)."""
    made: dict[str, Path] = {}
    if study.finished():
        made["pareto_scatter"] = P.draw_scatter(D.scatter_data(study, chosen), out)[0]
        made["hv_history"] = P.draw_hv_history(D.hv_history_data(study), out)[0]
        made["method_bars"] = P.draw_method_bars(D.method_gap_bars(D.method_table(study, on)), out)[0]
    comparisons = comparisons or compare_study(study)
    jd = D.jd_vs_fixed_data(study, comparisons)
    if jd:
        made["jd_vs_fixed"] = P.draw_jd_vs_fixed(jd, out)[0]
    paired = D.paired_w_data(comparisons)
    if paired:
        made["paired_w"] = P.draw_paired_w(paired, out)[0]
    conflict = D.conflict_data(study)
    if conflict:
        made["gradient_conflict"] = P.draw_conflict(conflict, out)[0]
    w = D.jd_weights_data(study)
    if w:
        made["jd_weights"] = P.draw_jd_weights(w, out)[0]
    return made


_HEADERS = {"ua": "UA", "ra": "RA", "ta": "TA", "ta_forgotten": "TA (forgotten)", "mia": "MIA",
            "avg_gap": "Avg. Gap", "rte": "RTE s"}


def comparison_markdown(result: dict[str, Any]) -> list[str]:
    """The JD-vs-fixed section: how arms were paired, then each comparison's sentence and figures."""
    head, *left_out = pairing_lines(result)
    out = [head + ".", *(f"- {line}" for line in left_out)]
    for c in result["comparisons"]:
        out += ["", f"### {c['name']}", "", f"Design: {c.get('design', 'unpaired')}. {c['verdict']}"]
        if "full_budget" not in c:
            continue
        if c.get("paired"):
            out += _paired_markdown(c["paired"])
        iv = (c["equal_budget"] or c["full_budget"])["interval"]
        runs = (f" An arm's {c['replicates']} independent search runs (replicates) each have their "
                "own front; a side's HV is the mean over its runs." if c["replicates"] > 1 else "")
        missing = (f" Validation figures are missing for {len(c['validation_missing'])} of its "
                   f"front trials ({c['validation_missing'][0]}), so it is measured on the search "
                   "seeds." if c.get("validation_missing") else "")
        out += ["", f"Fronts {c['measured_on']}.{missing} Each side's HV is over its own front, "
                f"objectives normalised over this comparison's two sides only (gap objectives from "
                f"their ideal 0), reference point {reference_text(c)} (objective units); per seed, "
                f"each side has one front.{runs} The interval: "
                f"{iv['method'] if iv else 'none (one seed)'}, over {c['seeds']} seeds; a winner "
                f"needs at least {MIN_SEEDS} seeds. Decided on: {c['decided_on']}.", "",
                "| budget | JD trials | fixed trials | HV JD | HV fixed | per-seed HV difference | "
                "95% CI | ε+ JD→fixed | ε+ fixed→JD |", "|---|---|---|---|---|---|---|---|---|"]
        for label, f in (("full", c["full_budget"]), ("equal", c["equal_budget"])):
            if f is None:
                continue
            iv = f["interval"]
            ci = f"[{iv['hv_difference_95'][0]:+.3f}, {iv['hv_difference_95'][1]:+.3f}]" if iv else "-"
            out.append(f"| {label} | {f['trials']['jd']} | {f['trials']['fixed']} | "
                       f"{f['hv']['jd']:.3f} | {f['hv']['fixed']:.3f} | {f['hv_difference']:+.3f} | "
                       f"{ci} | {f['epsilon_jd_to_fixed']:.3f} | {f['epsilon_fixed_to_jd']:.3f} |")
        vs = c["full_budget"].get("original")
        if vs:
            out += ["", "Against the untouched original (doing nothing, at "
                    + ", ".join(f"{o} {v:.3g}" for o, v in zip(c["normalisation"]["objectives"],
                                                               c["original_point"], strict=True))
                    + "): " + "; ".join(
                        f"{label} {vs[side]['dominated_by_original'][0]} of "
                        f"{vs[side]['dominated_by_original'][1]} trials dominated by it, HV gain over "
                        f"it {vs[side]['hv_gain_over_original']:.3f}"
                        for side, label in (("jd", "JD:"), ("fixed", "fixed:"))) + "."]
    if not result["comparisons"]:
        out += ["", "No matched pair of `raul` and `scalarized` arms to compare."]
    return out


def _paired_markdown(p: dict[str, Any]) -> list[str]:
    """Per w: each figure's seed means and the paired JD - fixed difference with its interval."""
    names = list(p["summary"])
    out = ["", f"Paired by {', '.join(p['by'])}, {p['measured_on']}: at each value one JD and one "
           "fixed-weight trial with the same objectives, batches, optimiser and seeds, which differ "
           f"only in the projection of the gradients; {p['rule']}. "
           + (p.get("note", "") or ""), "",
           "| " + " | ".join([", ".join(p["by"]), *(f"{m}: JD − fixed [95% CI]" for m in names),
                              "cos JD / fixed"]) + " |",
           "|" + "---|" * (len(names) + 2)]
    for pt in p["points"]:
        cells = []
        for m in names:
            f = pt["figures"][m]
            iv = f["difference_95"]
            ci = f" [{iv[0]:+.3f}, {iv[1]:+.3f}]" if iv else ""
            win = {"jd": " JD", "fixed": " fixed"}.get(f["winner"] or "", "")
            cells.append(f"{f['jd_mean']:.3f} − {f['fixed_mean']:.3f} = {f['difference']:+.3f}{ci}{win}")
        cos = [pt["conflict"][side].get("grad_cos") for side in ("jd", "fixed")]
        cells.append(" / ".join("-" if v is None else f"{v:+.2f}" for v in cos))
        at = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in pt["point"].values())
        out.append(f"| {at} | " + " | ".join(cells) + " |")
    if p["unpaired_trials"]:
        out += ["", f"Trials without a partner (left out): {', '.join(p['unpaired_trials'])}."]
    return out


def _fmt(row: dict[str, Any], m: str) -> str:
    v, s = row.get(m), row.get(f"{m}_std", 0.0)
    if v is None or v != v:
        return "-"
    return f"{v:.2f} ± {s:.2f}" if row.get("n_seeds", 1) > 1 and f"{m}_std" in row else f"{v:.2f}"


def _seeds_markdown(study: StudyData, on: str) -> list[str]:
    search = f"Search seeds: {seeds_text(study.search_seeds)} (every trial was run on each)."
    if not study.validation_seeds:
        return [search + " No held-out validation seeds (`paretoul validate`): every figure is "
                "measured on the seeds it was selected on.", ""]
    n = len(study.validation)
    return [search + f" Held-out validation seeds: {seeds_text(study.validation_seeds)} "
            f"({n} trials re-evaluated by `paretoul validate`, recorded apart from the search). "
            f"Figures below are measured on the {on} seeds unless they say otherwise; the fronts "
            "and the scatter plot show the search.", ""]


def _short(value: Any) -> str:
    """``value`` for reading: floats to 4 significant digits, in lists and dicts too (the JSON
    outputs keep full precision)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def _halving_markdown(study: StudyData) -> list[str]:
    """Where the arms with ``fidelity`` stopped their configurations."""
    rows = D.halving_table(study)
    if not rows:
        return []
    n = len(study.search_seeds)
    out = ["", "## Successive halving over seeds", "",
           "Arms with `fidelity` ran each new configuration on their first rung's seeds and went "
           "on to more seeds with the best share of each rung (non-dominated rank, then crowding "
           "distance; `asynchronous`: as soon as a configuration ranked in the best share of those "
           "finished so far, `synchronous`: once its rung was complete): only configurations "
           "measured on all "
           f"{n} search seeds enter the tables, fronts, comparisons and choices above and below.",
           "", "| arm | rungs (seeds) | eta | stop | promote | configurations | stopped | on all seeds "
           "| failed |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        stopped = ", ".join(f"{c} after {s} seed{'s' * (s > 1)}" for s, c in r["stopped"].items())
        out.append(f"| {r['arm']} | {', '.join(map(str, r['seeds']))} | {r['eta']} | {r['stop']} | "
                   f"{r['promote']} | "
                   f"{r['configurations']} | {stopped} | {r['full']} | {r['failed']} |")
    return out


def report_markdown(study: StudyData, plots: dict[str, Path], chosen: Choice | None,
                    comparisons: dict[str, Any], fronts: dict[str, Any],
                    oracle_free: Choice | None = None, on: str = "search") -> str:
    lines = [f"# Study `{study.name}`", "",
             f"{len(study.finished())} finished trials, "
             f"{sum(r.state == 'failed' for r in study.records)} failed; objectives: "
             + ", ".join(f"`{o}` ({d})" for o, d in zip(study.objectives, study.directions, strict=True)),
             ""]
    lines += _seeds_markdown(study, on)
    cols = D.table_metrics(study)
    rows = D.method_table(study, on)
    n_seeds = max((r["n_seeds"] for r in rows), default=1)
    spread = (f"mean ± sample std (ddof = 1) over {n_seeds} seeds" if n_seeds > 1
              else "one seed, so no spread")
    lines += ["## Methods at their trial closest to the oracle", "",
              "Each method's row is its trial with the smallest Avg. Gap to the retrain oracle "
              f"(tuned against the oracle, as the literature's tables are), {measured_on(study, on)}; "
              f"{spread}; RTE: the unlearning's wall time in seconds (none for the original and "
              "the oracle, which are trained, not unlearned)."]
    if str(getattr(study.spec, "forget", "")).startswith("class:"):
        lines[-1] += (" Class-wise forgetting: TA and the MIA's non-members use the retained "
                      "classes' test samples; TA (forgotten) is the accuracy on the forgotten "
                      "classes' test samples (about 0 for the oracle).")
    if any(r.get("noise_floor") for r in rows):
        lines[-1] += (" The `retrain` row is an independent retrain (its own init and batch "
                      "order): its gaps to the oracle are the retrain-to-retrain noise floor, and "
                      "a method's gap below them is indistinguishable from retraining.")
    else:
        lines[-1] += (" No `retrain` arm: the noise floor of these gaps is not measured (add an "
                      "arm `{method: retrain, searcher: {type: grid}}`).")
    conflict = any("grad_cos" in row for row in rows)
    if conflict:
        lines[-1] += (" cos: the mean cosine between the forget and retain gradients over the "
                      "trial's steps (search seeds), and the share of steps where they conflict "
                      "(cos < 0); '-' where the method does not measure it.")
    lines += ["", "| method | trial | " + " | ".join(_HEADERS[m] for m in cols)
              + (" | cos (conflict share)" if conflict else "") + " |",
              "|---|---|" + "---|" * (len(cols) + conflict)]
    missing = [row["missing"] for row in rows if row.get("missing")]
    if missing:
        lines[-1] += (f" {len(missing)} row(s) lack validation figures ({missing[0]}): run "
                      f"`paretoul validate {study.directory}`.")
    for row in rows:
        name = f"{row['method']} (noise floor)" if row.get("noise_floor") else row["method"]
        cos = (f" | {row['grad_cos']:+.2f} ({row['grad_conflict']:.0%})" if "grad_cos" in row
               else " | -") if conflict else ""
        lines.append(f"| {name} | {row['trial']} | " + " | ".join(_fmt(row, m) for m in cols)
                     + cos + " |")
    lines += _halving_markdown(study)
    lines += ["", "## Jacobian descent vs fixed weights", ""]
    lines += comparison_markdown(comparisons)
    lines += ["", "## Fronts and hypervolume", "",
              f"Objectives normalised over all finished trials; reference point {reference_text(fronts)}"
              " (objective units; normalised "
              f"{_short(fronts['normalisation']['reference_point_normalised'])}; so an HV is at "
              f"most {float(np.prod(fronts['normalisation']['reference_point_normalised'])):.3g}). "
              "The overall row counts the candidates only: an independent retrain is a reference.",
              "",
              "| arm | finished | front size | HV |", "|---|---|---|---|"]
    for arm, a in fronts["arms"].items():
        lines.append(f"| {arm} | {a['finished']} | {len(a['front'])} | {a['hv']:.3f} |")
    overall = fronts["overall"]
    lines.append(f"| **overall** (candidates) | {overall['finished']} | {len(overall['front'])} "
                 f"| {overall['hv']:.3f} |")
    if chosen:
        shown = measured(study, chosen.record, None if on == "validation" else "search")
        lines += ["", "## Chosen operating point", "", f"Rule `{chosen.rule}`: {chosen.record.key} "
                  f"({chosen.record.method}, {_short(chosen.record.params)}): {chosen.reason}; "
                  f"{shown['note']}.", "",
                  "| " + " | ".join(_HEADERS.get(m, m) for m in cols) + " |", "|" + "---|" * len(cols),
                  "| " + " | ".join(_fmt({**shown["metrics"], "n_seeds": len(shown["seeds"]),
                                          **{f"{k}_std": v for k, v in shown["metrics_std"].items()}},
                                         m) for m in cols) + " |"]
    if oracle_free:
        lines += ["", f"Without an oracle (rule `oracle-free`) the choice would be "
                  f"{oracle_free.record.key} ({oracle_free.record.method}): {oracle_free.reason}."]
    audits = stored_audits(study.directory)
    if audits:
        lines += ["", "## Forget audits (NeurIPS 2023 unlearning-challenge score)", "",
                  "N unlearned models (the trial's method, N method seeds, one original) against N "
                  "independent retrains, on the first search seed (`paretoul audit DIR --trial "
                  "ARM#K --models N`); forget quality 1 = no attack tells them apart; final score "
                  "= forget quality x RA ratio x TA ratio (google-deepmind/unlearning_evaluation). "
                  "Read a score against the noise floor at the same N (retrain audited against "
                  "retrains: the best an unlearner can expect, well below 1 at small N; `paretoul "
                  "audit DIR --trial ARM#K --floor` measures it), not against 1; 0 means an attack "
                  "tells the sides apart on every forget example.",
                  "", "| trial | method | N | forget quality | noise floor | final score | mean ε | "
                  "RA ratio | TA ratio |", "|---|---|---|---|---|---|---|---|---|"]
        for a in audits:
            fl = a.get("floor")
            floor = f"{fl['forget_quality']:.4f}" if fl else "not measured"
            lines.append(f"| {a.get('trial', '-')} | {a['config']['method']} | {a['models']} | "
                         f"{a['forget_quality']:.4f} | {floor} | {a['final_score']:.4f} | "
                         f"{a['mean_epsilon']:.3f} | {a['ratios']['ra']:.4f} | "
                         f"{a['ratios']['ta']:.4f} |")
    lines += ["", "## Figures", ""]
    for name, path in plots.items():
        lines.append(f"![{name}]({path.name})")
    lines += _settings_markdown(study)
    return "\n".join(lines) + "\n"


def _settings_markdown(study: StudyData) -> list[str]:
    return ["", "## Settings", "", *machine_lines(study.directory), "```yaml",
            settings_yaml(study.spec), "```"]


def _no_trial_markdown(study: StudyData) -> str:
    """The report of a study with no finished trial: what there is, and how to go on."""
    states = Counter(r.state for r in study.records)
    errors = sorted({r.error for r in study.records if r.state == "failed" and r.error})
    counts = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no trial at all"
    lines = [f"# Study `{study.name}`", "",
             f"This study has no finished trial yet ({counts}), so it has no front, choice or figure.",
             "", f"`paretoul study status {study.directory}` shows each arm; "
             f"`paretoul study resume {study.directory}` runs what is missing."]
    if errors:
        lines += ["", "## Why trials failed", ""] + [f"- {mask_secrets(e)}" for e in errors[:10]]
    lines += _settings_markdown(study)
    return "\n".join(lines) + "\n"


def _oracle_free(study: StudyData) -> Choice | None:
    done = study.candidates()
    if not done or any(m not in done[0].metrics for m in ("ref_gap", "ta", "avg_gap")):
        return None
    return choose(study, "oracle-free")


def write_report(study_dir: str | Path, out: str | Path | None = None, rule: str = "knee",
                 storage_url: str | None = None, rule_options: dict[str, Any] | None = None,
                 on: str | None = None) -> dict[str, Path]:
    """Write ``report.md``, a self-contained ``report.html``, every plot (PNG + SVG) and
    ``headline.json`` (each comparison's verdict and the chosen point, what a launch prints last);
    the chosen point by ``rule`` with ``rule_options`` (see :func:`~paretoul.pareto.choose.choose`);
    the method table, comparisons and chosen point measured on ``on``'s seeds (default:
    validation when the study has it). A study without a finished trial gets a short report
    that says so."""
    options = rule_options or {}
    check_rule(rule, **options)
    study = load_study_data(study_dir, storage_url)
    out_dir = Path(out) if out else Path(study_dir) / "report"
    resolved = study.resolve_on(on)
    headline: dict[str, Any] = {"rule": rule, "chosen": None, "verdicts": []}
    if study.candidates():
        chosen = choose(study, rule, **options)
        if on == "validation":
            measured(study, chosen.record, on)  # an explicit --on validation needs it validated
        comparisons = compare_study(study, on)
        out_dir.mkdir(parents=True, exist_ok=True)
        plots = make_plots(study, out_dir, chosen, comparisons, resolved)
        md = report_markdown(study, plots, chosen, comparisons, summarise_fronts(study),
                             _oracle_free(study), resolved)
        headline = {"rule": rule, "verdicts": [c["verdict"] for c in comparisons["comparisons"]],
                    "chosen": {"trial": chosen.record.key, "method": chosen.record.method,
                               "params": chosen.record.params, "reason": chosen.reason,
                               "objectives": dict(zip(study.objectives, chosen.record.objectives or (),
                                                      strict=False))}}
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        plots = {}
        md = _no_trial_markdown(study)
    (out_dir / "headline.json").write_text(json.dumps(headline, indent=1) + "\n")
    md += f"\n_Written {time.strftime('%Y-%m-%d %H:%M:%S')} by paretoul._\n"
    (out_dir / "report.md").write_text(md)
    images = {p.name: base64.b64encode(p.read_bytes()).decode() for p in plots.values()}
    (out_dir / "report.html").write_text(markdown_to_html(md, images))
    return {"markdown": out_dir / "report.md", "html": out_dir / "report.html", **plots}
