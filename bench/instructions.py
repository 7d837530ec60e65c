"""Instructions per submission of the in-process path, with and without reputation and the
whole-submission signals (bench/inprocess.py phases under valgrind's callgrind).

A count of executed instructions does not change with what else runs on the machine, unlike
wall-clock throughput: the steady measure of issue 22's "at most 10 %" on a shared box.

    .venv/bin/python -m bench.instructions --phases with,without,with,without --count 192

Starts its own redis-server (Redis's own instructions are not counted: it is another process).
Needs Debian's valgrind. Takes minutes: Python runs ~50 times slower under callgrind.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.inprocess import PHASES

ROOT = Path(__file__).resolve().parent.parent
# A measured phase runs ~count * 2.5e6 instructions; an import's module body far fewer.
MIN_PHASE_PER_SUBMISSION = 1_000_000
_SUMMARY = re.compile(rb"^summary:\s*(\d+)", re.M)


def dump_totals(out_dir: Path, stem: str) -> list[int]:
    """The instruction total of every numbered dump ``stem.N``, in N order."""
    numbered = []
    for path in out_dir.glob(f"{stem}.*"):
        suffix = path.name.rsplit(".", 1)[1]
        if suffix.isdigit():
            match = _SUMMARY.search(path.read_bytes())
            numbered.append((int(suffix), int(match.group(1)) if match else 0))
    return [total for _, total in sorted(numbered)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--phases", default="with,without,with,without")
    p.add_argument("--count", type=int, default=192)
    p.add_argument("--warmup", type=int, default=32)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "instructions.json")
    args = p.parse_args(argv)
    phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    if set(phases) - set(PHASES):
        raise SystemExit(f"phases are {', '.join(PHASES)}")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    tmp = Path(tempfile.mkdtemp(prefix="moderation-instr-"))
    from bench.run import free_port

    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        cmd = [
            "valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=builtin_exec",
            "--dump-after=builtin_exec", f"--callgrind-out-file={tmp}/cg.out",
            sys.executable, "-c", "from bench.inprocess import cli; cli()",
            "--port", str(port), "--phases", ",".join(phases), "--count", str(args.count),
            "--warmup", str(args.warmup),
        ]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"valgrind run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        # The phases run last: the last large dumps are theirs (start-up has large ones too,
        # when an import's module code runs long inside an exec).
        large = [t for t in dump_totals(tmp, "cg.out") if t >= MIN_PHASE_PER_SUBMISSION * args.count]
        if len(large) < len(phases):
            raise SystemExit(f"expected {len(phases)} phase dumps, found {len(large)} large ones: {large}")
        totals = large[-len(phases) :]
    finally:
        redis.terminate()
        redis.wait(10)
        if os.environ.get("BENCH_KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
    per = {name: [t / args.count for t, ph in zip(totals, phases, strict=True) if ph == name] for name in PHASES}
    result: dict[str, object] = {
        "phases": phases,
        "count": args.count,
        "instructions_per_submission": {k: [round(v) for v in vs] for k, vs in per.items()},
        "valgrind_seconds": round(time.monotonic() - started),
    }
    print(f"instructions per submission (callgrind, {args.count} submissions per phase):")
    for name in PHASES:
        print(f"  {name:<8} " + ", ".join(f"{v:,.0f}" for v in per[name]))
    if per["with"] and per["without"]:
        cost = statistics.median(per["with"]) / statistics.median(per["without"]) - 1
        result["cost"] = round(cost, 4)
        print(f"  reputation + whole-submission signals: {cost * 100:+.1f} % instructions per submission")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
