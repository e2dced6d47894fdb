"""The fuzzing harness: a seeded mutation generator and the check every generated input must pass.

Every input ends in a valid result or in ``povlab: error: ...`` with exit code 2, within
:data:`TIME_LIMIT_S`; never a traceback, never ``internal error``, never a file written outside the
output folder. The corpus is seeded (``random.Random(seed)``), so a failure names the seed that
reproduces it: ``FUZZ_SEEDS`` cases per target in the default run, ``FUZZ_SEEDS_SLOW`` with ``-m slow``.
"""

from __future__ import annotations

import contextlib
import io
import random
import signal
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from app.cli import main
from app.core.errors import PovLabError

FUZZ_SEEDS = 25  # per target in the default run (a few seconds each)
FUZZ_SEEDS_SLOW = 2000  # per target with -m slow
TIME_LIMIT_S = 60

HOSTILE = [b"\x00", b"\xef\xbb\xbf", b"nan", b"inf", b"-inf", b"1e308", b"-1e308", b"1" + b"0" * 400, b"\xff\xfe",
           b"[" * 64, b"{" * 64, b"\n", b"\r\n", b"\t", b'"', b"'", b"\\", b"../" * 8, b"\xc3\x28", b"0", b"-1",
           b"true", b"null", b"\"\"", b"[]", b"{}", b"x" * 5000, "\u2028".encode()]


def mutate(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """A seeded mutation of ``data``: byte flips, truncation, deletion, duplication, hostile tokens."""
    out = bytearray(data)
    for _ in range(rounds if rounds is not None else rng.randint(1, 4)):
        op = rng.randrange(7)
        n = len(out)
        at = rng.randrange(n + 1) if n else 0
        if op == 0 and n:  # flip bits
            out[min(at, n - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # cut short
            del out[at:]
        elif op == 2 and n:  # delete a stretch
            del out[at:at + rng.randint(1, 64)]
        elif op == 3 and n:  # duplicate a stretch
            end = min(n, at + rng.randint(1, 256))
            out[at:at] = out[at:end] * rng.randint(1, 20)
        elif op == 4:  # insert a hostile token
            out[at:at] = rng.choice(HOSTILE)
        elif op == 5 and n:  # replace a number-looking byte run by a hostile value
            digits = [i for i in range(n) if 48 <= out[i] <= 57]
            if digits:
                i = rng.choice(digits)
                j = i
                while j < n and (48 <= out[j] <= 57 or out[j] in b".eE-"):
                    j += 1
                out[i:j] = rng.choice(HOSTILE[2:9])
        elif op == 6 and n:  # random bytes
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(out)


class _TimeLimitError(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int = TIME_LIMIT_S) -> Iterator[None]:
    def on_alarm(_sig: int, _frame: object) -> None:
        raise _TimeLimitError(f"no result within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
            if p.is_file() and not p.is_symlink()}


def check_cli(argv: list[str], root: Path, allowed: Path) -> tuple[int, str]:
    """Run ``povlab ARGV`` in-process; a problem is raised as AssertionError naming the input. Returns (code, err)."""
    before = _tree(root)
    err, out = io.StringIO(), io.StringIO()
    try:
        with time_limit(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
    except SystemExit as exc:  # argparse on an argument it cannot parse: exit 2 with usage
        code = int(exc.code or 0)
    except BaseException as exc:
        raise AssertionError(f"povlab {argv}: {type(exc).__name__} escaped main():\n{traceback.format_exc()}") from exc
    text = err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, f"povlab {argv}:\n{text[-3000:]}"
    assert code in (0, 2), f"povlab {argv}: exit {code}\n{text[-3000:]}"
    if code == 2:
        lines = [ln for ln in text.splitlines() if ln.startswith("povlab: error:")]
        usage = text.lstrip().startswith("usage:")
        assert len(lines) == 1 or usage, f"povlab {argv}: exit 2 without one 'povlab: error:' line:\n{text[-3000:]}"
    after = _tree(root)
    changed = {k for k in after if before.get(k) != after[k]} | (set(before) - set(after))
    outside = sorted(k for k in changed if not (root / k).resolve().is_relative_to(allowed.resolve()))
    assert not outside, f"povlab {argv}: wrote outside {allowed}: {outside[:5]}"
    return code, text


def check_call(fn: Callable[[], object], what: str) -> object | None:
    """Call ``fn``: a result, or a PovLabError (None); anything else fails naming ``what``."""
    try:
        with time_limit():
            return fn()
    except PovLabError:
        return None
    except BaseException as exc:
        raise AssertionError(f"{what}: {type(exc).__name__} instead of a PovLabError:\n{traceback.format_exc()}") \
            from exc


def run_seeds(seeds: range, case: Callable[[int], None]) -> None:
    """Run ``case(seed)`` for every seed; the first failure is reported with its seed (to reproduce it)."""
    for seed in seeds:
        try:
            case(seed)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}: {exc}") from None
