"""Plain-text summary of a Self-Lengthen run, as ``slbench train`` prints it (pure function)."""

from __future__ import annotations

from typing import Any


def _shares(shares: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in shares.items()) or "-"


def _num(value: Any, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt)


def iteration_lines(stats: dict[str, Any]) -> list[str]:
    si = stats["instructions"].get("self_instruct", {})
    ini, ext = stats["initial"], stats["extension"]
    gen = stats["training"]["generator"]
    loss = gen.get("loss_curve") or []
    return [
        f"iteration {stats['iteration']} ({stats['check_mode']} checks)",
        f"  self-instruct: {si.get('accepted', 0)}/{si.get('generated', 0)} kept; "
        f"rejected {si.get('rejected_by_reason', {})}",
        f"  initial: {ini['accepted']}/{ini['items']} accepted in {ini['attempts']} attempts; "
        f"rejected attempts: {_shares(ini['rejected_attempt_share_by_reason'])}; "
        f"words mean {_num(ini['words_accepted']['mean'], '.0f')}",
        f"  extension: {ext['accepted']}/{ext['items']} above the ratio; micro-iterations "
        f"{ext['micro_passed']}/{ext['micro_iterations']} passed; rejected: "
        f"{_shares(ext['micro_rejected_share_by_reason'])}",
        f"  extension ratio (all) mean {_num(ext['ratio_all']['mean'])} max {_num(ext['ratio_all']['max'])}; "
        f"accepted mean {_num(ext['ratio_accepted']['mean'])}; words initial "
        f"{_num(ext['words_initial']['mean'], '.0f')} -> extended {_num(ext['words_extended_accepted']['mean'], '.0f')}",
        f"  generator training: {gen.get('n_examples', 0)} examples, "
        f"{'loss ' + _num(loss[0]['loss']) + ' -> ' + _num(loss[-1]['loss']) if loss else gen.get('skipped', '-')}",
    ]


def evaluation_lines(evaluation: dict[str, Any]) -> list[str]:
    lines = [
        f"mean output words on {evaluation['task']}/{evaluation['split']} (limit {evaluation['limit']}, "
        f"{evaluation.get('decoding', 'greedy')} decoding, "
        f"{evaluation.get('samples_per_item', 1)} answer(s) per item averaged), 95% CI over items:"
    ]
    for label, entry in evaluation["models"].items():
        ci = entry.get("words_ci") or [None, None]
        text = f"  {label:<8} {_num(entry['words_mean'], '.1f')} [{_num(ci[0], '.1f')}, {_num(ci[1], '.1f')}]"
        text += f" truncated {_num(entry.get('truncated_share'), '.0%')}"
        diff = entry.get("diff_vs_base")
        if diff and diff.get("ci"):
            verdict = "longer beyond CI" if entry["diff_ci_excludes_zero"] else "not beyond CI"
            text += f"; vs base {diff['mean']:+.1f} [{diff['ci'][0]:+.1f}, {diff['ci'][1]:+.1f}] ({verdict})"
        lines.append(text)
    return lines


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"Self-Lengthen run: {summary['run_dir']}"]
    for stats in summary["iterations"]:
        lines += iteration_lines(stats)
    final = summary.get("final")
    if final:
        lines.append(f"final length-controlled data: {final['n_examples']} examples")
    if summary.get("evaluation"):
        lines += evaluation_lines(summary["evaluation"])
    return "\n".join(lines)
