"""Hand-written pieces vs the well-kept libraries doing the same job, side by side.

    .venv/bin/pip install -e ".[bench]"    # or ".[dev]", which includes it
    taskset -c 1 .venv/bin/python bench/bench_libraries.py [--batches N] [--only SECTION ...]

Sections: cache (MemoryStore vs cachetools), retry (retry.py vs tenacity and
stamina), breaker (breaker.py vs pybreaker and purgatory), logs (JsonFormatter vs
python-json-logger and structlog), config (load_settings vs pydantic-settings:
behaviour and error messages only), jsonmap (gateway/jsonmap.py vs
google.protobuf.json_format).

Every timed row is the median over `--batches` batches of the CPU time per
call (this thread's, so the other processes of a shared machine taking the core
away in the middle of a batch do not count), the contenders of a table run batch
by batch in turn (interleaved). Besides the timings each section prints
what the library can and cannot express of what the hand-written piece does,
probed by running it wherever a probe can show it (half-open trials, late
failures, per-entry expiry, error messages, output of the same message).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.libraries import breaker, cache, config, jsonmap, logs, retry

SECTIONS: dict[str, Callable[[int], list[str]]] = {
    "cache": cache.run,
    "retry": retry.run,
    "breaker": breaker.run,
    "logs": logs.run,
    "config": config.run,
    "jsonmap": jsonmap.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--batches", type=int, default=21)
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), default=sorted(SECTIONS))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, batches {args.batches}, load average {load:.2f}\n")
    for name in SECTIONS:
        if name in args.only:
            print("\n".join(SECTIONS[name](args.batches)), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
