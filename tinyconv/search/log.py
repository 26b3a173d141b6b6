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
