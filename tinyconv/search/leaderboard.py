"""The search's top-k leaderboard: the summary's table and leaderboard.{json,txt}.

Candidates are ranked as the search ranks them (its score: the proxy's, then the smaller
peak SRAM, then the key; with the supernet proxy the best ones re-scored on the whole
validation split come first, by that score), so rank 1 is the winner. A row shows the
final training's accuracies where that candidate was trained (the winner after the final
training), and the proxy's score for every one (and the re-ranking score where there is
one): separate columns, never one value standing for another.
SRAM and flash are the exact planned costs; instructions per inference come from the
latency model (tinyconv.cost), and milliseconds from them at `--clock` MHz (one
instruction per cycle) when a clock is given.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..files import write_atomic
from ..space import ArchConfig
from .log import Candidate


def rank(cands: list[Candidate], rescored: dict[str, float] | None = None) -> list[Candidate]:
    """Best first: the search's own order (the winner is rank(cands)[0]). `rescored`: the
    re-ranked candidates' scores on the whole validation split (supernet.rerank), which
    put them first, in their order."""
    rescored = rescored or {}
    return sorted(cands, key=lambda c: (c.key not in rescored,
                                        -rescored.get(c.key, c.accuracy), c.peak_sram, c.key))


@dataclass(frozen=True)
class Row:
    rank: int
    key: str
    proxy_score: float
    rerank_score: float | None            # on the whole validation split (re-ranked ones)
    final_int8_accuracy: float | None     # after the final training (where trained)
    final_float_accuracy: float | None
    peak_sram: int
    flash: int
    macs: int
    instructions: int                     # estimated (latency model) per inference
    ms: float | None                      # instructions at the --clock, None without one
    arch: ArchConfig

    def to_dict(self) -> dict:
        d = asdict(self)
        d["arch"] = self.arch.to_dict()
        return d


def leaderboard(cands: list[Candidate], top: int, *, final: dict[str, dict] | None = None,
                clock_mhz: float | None = None,
                rescored: dict[str, float] | None = None) -> list[Row]:
    """The `top` best candidates; `final` maps a key to its final training's metrics,
    `rescored` to its re-ranking score."""
    final, rescored = final or {}, rescored or {}
    rows = []
    for n, c in enumerate(rank(cands, rescored)[:max(0, top)], 1):
        m = final.get(c.key, {})
        rows.append(Row(n, c.key, c.accuracy, rescored.get(c.key), m.get("int8_accuracy"),
                        m.get("float_accuracy"),
                        c.peak_sram, c.flash, c.macs, c.instructions,
                        None if clock_mhz is None else c.instructions / (clock_mhz * 1e3),
                        c.arch))
    return rows


def format_table(rows: list[Row], score_label: str, clock_mhz: float | None = None) -> str:
    ms = f"ms @ {clock_mhz:g} MHz" if clock_mhz is not None else None
    full = any(r.rerank_score is not None for r in rows)
    head = (f"{'rank':>4}  {'key':<16}  {score_label:>10}  "
            + (f"{'whole val':>10}  " if full else "")
            + f"{'final int8':>10}  {'SRAM B':>9}  "
            f"{'flash B':>9}  {'MACs':>11}  {'instr (est)':>12}" + (f"  {ms:>13}" if ms else ""))
    lines = [head]
    for r in rows:
        final = "-" if r.final_int8_accuracy is None else f"{r.final_int8_accuracy:.4f}"
        whole = "-" if r.rerank_score is None else f"{r.rerank_score:.4f}"
        lines.append(f"{r.rank:>4}  {r.key:<16}  {r.proxy_score:>10.4f}  "
                     + (f"{whole:>10}  " if full else "") + f"{final:>10}  "
                     f"{r.peak_sram:>9,}  {r.flash:>9,}  {r.macs:>11,}  {r.instructions:>12,}"
                     + (f"  {r.ms:>13.2f}" if ms else ""))
    return "\n".join(lines)


def write(out: Path, rows: list[Row], *, score_label: str, proxy: str, candidates: int,
          clock_mhz: float | None) -> str:
    """leaderboard.json and leaderboard.txt in `out`; returns the table."""
    table = format_table(rows, score_label, clock_mhz)
    doc = {"candidates": candidates, "score_label": score_label, "proxy": proxy,
           "ranked_by": f"{score_label} (the search's proxy), then smaller peak SRAM"
                        + ("; re-ranked candidates first, by rerank_score (the supernet's "
                           "accuracy on the whole validation split)"
                           if any(r.rerank_score is not None for r in rows) else ""),
           "final_accuracy": "the final training's int8 and float accuracies on the whole "
                             "test split, where that candidate was trained (else null)",
           "instructions": "estimated per inference (latency model, tinyconv.cost)",
           "clock_mhz": clock_mhz, "rows": [r.to_dict() for r in rows]}
    write_atomic(out / "leaderboard.json", json.dumps(doc, indent=2) + "\n")
    write_atomic(out / "leaderboard.txt", table + "\n")
    return table
