"""candidates.jsonl: one JSON line per evaluated candidate, appended (and fsynced) the
moment it finishes, so an interrupted search loses nothing and `--resume` never
re-evaluates a finished candidate (the line's `key` is the config hash)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import TinyconvError
from ..interrupt import saving
from ..space import ArchConfig


@dataclass(frozen=True)
class Candidate:
    key: str
    index: int            # order of completion
    generation: int
    arch: ArchConfig
    accuracy: float
    peak_sram: int
    flash: int
    macs: int
    instructions: int
    seconds: float

    def to_json(self) -> str:
        d = asdict(self)
        d["arch"] = self.arch.to_dict()
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Candidate":
        d = json.loads(text)
        d["arch"] = ArchConfig.from_dict(d["arch"])
        return cls(**d)


class CandidateLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> list[Candidate]:
        if not self.path.exists():
            return []
        out = []
        lines = self.path.read_text().splitlines()
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                out.append(Candidate.from_json(line))
            except (ValueError, TypeError, KeyError, TinyconvError) as e:
                if n == len(lines):
                    # A line cut by a kill mid-write: drop it (that candidate reruns) so
                    # the next append starts on a clean line.
                    good = "".join(l + "\n" for l in lines[:-1])
                    self.path.write_text(good)
                    break
                raise TinyconvError(f"{self.path}: line {n} is not a candidate ({e})") from None
        return out

    def append(self, c: Candidate) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with saving(), open(self.path, "a") as f:  # a Ctrl-C waits for the whole line
            f.write(c.to_json() + "\n")
            f.flush()
            os.fsync(f.fileno())


def load_arch(path: Path, candidate: str | None = None) -> tuple[ArchConfig, str]:
    """The architecture `tinyconv train --arch PATH [--candidate KEY]` trains, and where it
    came from (for messages).

    PATH is an arch.json (one architecture: the search writes the winner's), or a search's
    candidates.jsonl or its folder, with KEY (or a unique start of it) naming a logged
    candidate (the leaderboard lists the keys)."""
    path = Path(path)
    log_path = path / "candidates.jsonl" if path.is_dir() else path
    if not log_path.exists():
        raise TinyconvError(f"--arch {path}: no such file" if not path.is_dir() else
                            f"--arch {path}: the folder holds no candidates.jsonl")
    if log_path.suffix != ".jsonl":
        if candidate is not None:
            raise TinyconvError(f"--candidate needs a search's candidates.jsonl (or its folder) "
                                f"as --arch, not the single architecture in {path}")
        try:
            return ArchConfig.from_json(log_path.read_text()), str(log_path)
        except (OSError, UnicodeDecodeError) as e:
            raise TinyconvError(f"--arch {path}: unreadable ({e})") from None
        except TinyconvError as e:
            raise TinyconvError(f"--arch {path}: {e}") from None
    cands = CandidateLog(log_path).load()
    if not cands:
        raise TinyconvError(f"--arch {log_path}: no candidate logged yet")
    if candidate is None:
        best = max(cands, key=lambda c: (c.accuracy, -c.peak_sram))
        raise TinyconvError(f"--arch {log_path} holds {len(cands)} candidates: name one with "
                            f"--candidate KEY (e.g. --candidate {best.key}, the best so far)")
    hits = [c for c in cands if c.key.startswith(candidate.strip().lower())]
    if len(hits) != 1 or not candidate.strip():
        what = "no candidate" if not hits else f"{len(hits)} candidates"
        raise TinyconvError(f"--candidate {candidate!r} matches {what} in {log_path} (give "
                            f"a key as leaderboard.txt lists it)")
    return hits[0].arch, f"{log_path} candidate {hits[0].key}"
