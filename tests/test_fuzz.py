"""Fuzz suite (issue 15): malformed files, model files, checkpoints and option values through
every ``alloykit`` command and the main Python entry points.

Each case runs in a forked child (the parent has imported alloykit, numpy, ASE and torch, so
a fork costs milliseconds) with a time limit, and is classified as in the issue's table:

  clean      exit 2, the last stderr line ``alloykit ...: <message>`` naming the file or
             option (the Python entry points: an InputError naming it); no traceback
  unclear    exit 2 but the message does not name the file/option, or spans lines
  traceback  an uncaught exception (cli.main re-raises bugs)
  hang       over the time limit
  accepted   exit 0 on malformed input
  benign     exit 0 on a case marked benign (a valid control)
  crash      the child died (signal, or exited without a result)
  pickle     a pickled payload in a model/checkpoint file ran (its marker file appeared)

Cases are generated from a seed: :func:`cases` gives the fixed cases (every class, every
command) plus ``n_random`` random mutations (truncation at random offsets, random bytes,
random tokens replaced). ``benchmarks/bench_fuzz.py`` runs the full sweep from here.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import random
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

OUTCOMES = ("clean", "unclear", "traceback", "hang", "accepted", "benign", "crash", "pickle")
A_FECR = 2.8665


@dataclass
class Case:
    name: str                     # unique, readable id
    kind: str                     # class of malformation
    argv: list | None = None      # an alloykit command line, or
    call: object = None           # a Python entry point: call() must raise InputError
    names: tuple = ()             # the message must contain one of these (file or option)
    benign: bool = False          # a valid control: exit 0 expected
    marker: str | None = None     # file a pickled payload would create


# ----------------------------------------------------------------------------- running

def _child(case: Case, cwd: Path) -> dict:
    from alloykit.errors import AlloykitError, one_line

    os.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    res = {"code": None, "error": None}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if case.argv is not None:
                from alloykit.cli import main

                res["code"] = main([str(a) for a in case.argv])
            else:
                case.call()
                res["code"] = 0
        except SystemExit as e:
            res["code"] = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
            if isinstance(e.code, str):
                err.write(e.code + "\n")
        except AlloykitError as e:
            res["code"] = 2
            err.write(f"alloykit: {one_line(e)}\n")
        except BaseException as e:        # noqa: BLE001 -- classifying is the point
            res["error"] = f"{type(e).__name__}: {one_line(e)}"
            res["trace"] = traceback.format_exc()[-1500:]
    res["stderr"] = err.getvalue()[-3000:]
    return res


def run_case(case: Case, workdir: Path, timeout: float = 20.0) -> dict:
    """Run ``case`` in a forked child; returns {outcome, message, seconds}."""
    cwd = Path(workdir) / "cwd" / case.name
    cwd.mkdir(parents=True, exist_ok=True)
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:                                     # the child
        status = 0
        try:
            os.close(r)
            os.setsid()          # its own process group: a hang is killed with its children
            null = os.open(os.devnull, os.O_WRONLY)  # LAMMPS and MPI write to the C streams
            os.dup2(null, 1)
            os.dup2(null, 2)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            data = json.dumps(_child(case, cwd)).encode()
            with os.fdopen(w, "wb") as f:
                f.write(data)
        except BaseException:    # noqa: BLE001
            status = 3
        os._exit(status)
    os.close(w)
    chunks, deadline = [], t0 + timeout
    while True:
        left = deadline - time.perf_counter()
        ready, _, _ = select.select([r], [], [], max(left, 0))
        if not ready:
            break
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    hung = time.perf_counter() >= deadline and not (chunks and _complete(chunks))
    if hung:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    seconds = round(time.perf_counter() - t0, 3)
    if hung:
        return {"outcome": "hang", "message": f"over {timeout} s", "seconds": seconds}
    if case.marker and Path(case.marker).exists():
        return {"outcome": "pickle", "message": "payload ran", "seconds": seconds}
    if not chunks:
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        return {"outcome": "crash", "message": how, "seconds": seconds}
    res = json.loads(b"".join(chunks))
    return {**classify(case, res), "seconds": seconds}


def _complete(chunks) -> bool:
    try:
        json.loads(b"".join(chunks))
        return True
    except ValueError:
        return False


def classify(case: Case, res: dict) -> dict:
    if res["error"]:
        return {"outcome": "traceback", "message": res["error"], "trace": res.get("trace", "")}
    lines = [ln for ln in res["stderr"].splitlines() if ln.strip()]
    code = res["code"]
    if code == 0:
        return {"outcome": "benign" if case.benign else "accepted", "message": (lines or [""])[-1]}
    last = lines[-1] if lines else ""
    if "Traceback" in res["stderr"]:
        return {"outcome": "traceback", "message": last}
    if case.benign:
        return {"outcome": "unclear", "message": f"valid input refused: {last}"}
    named = not case.names or any(str(n) in last for n in case.names)
    ok = code == 2 and last.startswith("alloykit") and named
    return {"outcome": "clean" if ok else "unclear", "message": f"exit {code}: {last}"}


# ----------------------------------------------------------------------------- fixtures

def _base_structure():
    """54-atom BCC Fe-Cr, 3x3x3 cells, a little thermal noise (seeded)."""
    from alloykit.structures import random_solid_solution

    atoms = random_solid_solution("bcc", {"Fe": 0.7, "Cr": 0.3}, (3, 3, 3), A_FECR, 3)
    rng = np.random.default_rng(4)
    atoms.positions += rng.normal(0, 0.03, atoms.positions.shape)
    return atoms.get_chemical_symbols(), atoms.positions.copy(), atoms.cell.array.copy()


def _make_fixtures(root: Path) -> None:
    """Valid inputs that the cases mutate (run in a child: torch trains there)."""
    import torch

    from alloykit.cli import main
    from alloykit.cnn import synthetic_records, write_jsonl

    torch.set_num_threads(1)
    root.mkdir(parents=True, exist_ok=True)
    recs = synthetic_records(["Fe=0.8,Cr=0.2", "Fe=0.6,Cr=0.4"], size=(3, 3, 3), sites_per_sample=2, seed=1)
    write_jsonl(recs, root / "records.jsonl")
    rc = main(["cnn", "train", str(root / "records.jsonl"), "--out", str(root / "model"), "--no-test",
               "--shells", "1", "--delta", "1.0", "--blocks", "1", "--width", "2", "--epochs", "1",
               "--batch-size", "8", "--quiet"])
    assert rc == 0
    rc = main(["mliap", "lj", str(root / "lj.akm"), "--species", "Fe", "Cr", "--epsilon", "0.01",
               "--sigma", "2.3", "--rcut", "5.0"])
    assert rc == 0


def warm_imports() -> None:
    """Import in the parent what most cases need, so that each forked case does not pay for
    it (nothing here starts a thread pool or MPI)."""
    import ase.io  # noqa: F401
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import scipy.spatial  # noqa: F401
    import scipy.stats  # noqa: F401

    import alloykit.cnn.io  # noqa: F401
    import alloykit.mliap.models  # noqa: F401
    import alloykit.structures  # noqa: F401
    from alloykit.cli import build_parser

    build_parser()


class Fixtures:
    def __init__(self, root: Path):
        warm_imports()
        self.root = Path(root)
        self.symbols, self.positions, self.cell = _base_structure()
        done = run_case(Case("fixtures", "setup", call=lambda: _make_fixtures(self.root), benign=True),
                        self.root, timeout=300)
        assert done["outcome"] == "benign", done
        self.model = self.root / "model"
        self.akm = self.root / "lj.akm"
        self.records = self.root / "records.jsonl"
        self.files = self.root / "files"
        self.files.mkdir(exist_ok=True)


# ----------------------------------------------------------------------------- structure texts

SPECIES = ["Fe", "Cr"]


def structure_text(fmt, symbols, pos, cell, n_header=None, ids=None, masses=None, lo=None, hi=None,
                   typed=False) -> str:
    """A structure in ``fmt`` (extxyz, poscar, data, dump) with the defects the arguments
    ask for: a header count, ids, Masses, box bounds."""
    n = len(symbols) if n_header is None else n_header
    ids = list(range(1, len(symbols) + 1)) if ids is None else ids
    fmtf = lambda x: repr(float(x))
    if fmt == "extxyz":
        lat = " ".join(fmtf(x) for x in np.asarray(cell).ravel())
        lines = [str(n), f'Lattice="{lat}" Properties=species:S:1:pos:R:3 pbc="T T T"']
        lines += [f"{s} {fmtf(x)} {fmtf(y)} {fmtf(z)}" for s, (x, y, z) in zip(symbols, pos)]
    elif fmt == "poscar":
        order = list(dict.fromkeys(symbols))
        counts = [symbols.count(s) for s in order]
        if n_header is not None:
            counts[0] += n_header - len(symbols)
        lines = ["fuzz", "1.0"] + [" ".join(fmtf(x) for x in row) for row in cell]
        lines += [" ".join(order), " ".join(str(c) for c in counts), "Cartesian"]
        lines += [f"{fmtf(x)} {fmtf(y)} {fmtf(z)}" for s in order for sym, (x, y, z) in zip(symbols, pos)
                  if sym == s]
    elif fmt == "data":
        lo = [0.0] * 3 if lo is None else lo
        hi = [cell[i][i] for i in range(3)] if hi is None else hi
        masses = {1: 55.845, 2: 51.9961} if masses is None else masses
        lines = ["fuzz data", "", f"{n} atoms", "2 atom types", ""]
        lines += [f"{fmtf(lo[i])} {fmtf(hi[i])} {a}lo {a}hi" for i, a in enumerate("xyz")]
        lines += ["", "Masses", ""] + [f"{t} {m}" for t, m in masses.items()]
        lines += ["", "Atoms # atomic", ""]
        lines += [f"{i} {SPECIES.index(s) + 1} {fmtf(x)} {fmtf(y)} {fmtf(z)}"
                  for i, s, (x, y, z) in zip(ids, symbols, pos)]
    elif fmt == "dump":
        lo = [0.0] * 3 if lo is None else lo
        hi = [cell[i][i] for i in range(3)] if hi is None else hi
        lines = ["ITEM: TIMESTEP", "0", "ITEM: NUMBER OF ATOMS", str(n), "ITEM: BOX BOUNDS pp pp pp"]
        lines += [f"{fmtf(lo[i])} {fmtf(hi[i])}" for i in range(3)]
        if typed:
            lines.append("ITEM: ATOMS id type x y z")
            lines += [f"{i} {SPECIES.index(s) + 1 if s in SPECIES else 9} {fmtf(x)} {fmtf(y)} {fmtf(z)}"
                      for i, s, (x, y, z) in zip(ids, symbols, pos)]
        else:
            lines.append("ITEM: ATOMS id type element x y z")
            lines += [f"{i} {SPECIES.index(s) + 1 if s in SPECIES else 1} {s} {fmtf(x)} {fmtf(y)} {fmtf(z)}"
                      for i, s, (x, y, z) in zip(ids, symbols, pos)]
    else:
        raise ValueError(fmt)
    return "\n".join(lines) + "\n"


SUFFIX = {"extxyz": ".extxyz", "poscar": ".vasp", "data": ".data", "dump": ".dump", "dump-typed": ".dump"}
FORMATS = ("extxyz", "poscar", "data", "dump", "dump-typed")


def _text(fx: Fixtures, fmt, symbols=None, pos=None, cell=None, **kw) -> str:
    return structure_text("dump" if fmt == "dump-typed" else fmt, list(fx.symbols if symbols is None else symbols),
                          fx.positions if pos is None else pos, fx.cell if cell is None else cell,
                          typed=fmt == "dump-typed", **kw)


def semantic_defects(fx: Fixtures, rng: random.Random):
    """(name, fmt, text) of files that are well formed but wrong."""
    n = len(fx.symbols)
    out = []
    for fmt in FORMATS:
        k = rng.randrange(n)
        for label, value in (("nan", float("nan")), ("inf", float("inf")), ("-inf", -float("inf")),
                             ("1e300", 1e300)):
            p = fx.positions.copy()
            p[k, rng.randrange(3)] = value
            out.append((f"coord-{label}", fmt, _text(fx, fmt, pos=p)))
        p = fx.positions.copy()
        p[(k + 1) % n] = p[k]
        out.append(("two-atoms-one-position", fmt, _text(fx, fmt, pos=p)))
        p = fx.positions.copy()
        p[(k + 1) % n] = p[k] + 0.02
        out.append(("two-atoms-0.03A-apart", fmt, _text(fx, fmt, pos=p)))
        out.append(("all-at-origin", fmt, _text(fx, fmt, pos=np.zeros_like(fx.positions))))
        for d in (1, 7, -1, -34):
            out.append((f"count{d:+d}", fmt, _text(fx, fmt, n_header=n + d)))
        if fmt in ("data", "dump", "dump-typed"):
            ids = list(range(1, n + 1))
            ids[(k + 1) % n] = ids[k]
            out.append(("duplicate-id", fmt, _text(fx, fmt, ids=ids)))
            for axis in range(3):
                lo, hi = [0.0] * 3, [fx.cell[i][i] for i in range(3)]
                lo[axis], hi[axis] = hi[axis], lo[axis]
                out.append((f"xhi<xlo-{'xyz'[axis]}", fmt, _text(fx, fmt, lo=lo, hi=hi)))
            hi = [fx.cell[i][i] for i in range(3)]
            hi[1] = 0.0
            out.append(("zero-box", fmt, _text(fx, fmt, hi=hi)))
            hi = [fx.cell[i][i] for i in range(3)]
            hi[2] = float("nan")
            out.append(("box-nan", fmt, _text(fx, fmt, hi=hi)))
        else:
            c = fx.cell.copy()
            c[1] = 0.0
            out.append(("zero-cell-vector", fmt, _text(fx, fmt, cell=c)))
            c = fx.cell.copy()
            c[2, 2] = float("nan")
            out.append(("cell-nan", fmt, _text(fx, fmt, cell=c)))
            c = fx.cell.copy()
            c[0] = c[1]
            out.append(("flat-cell", fmt, _text(fx, fmt, cell=c)))
        if fmt in ("extxyz", "poscar", "dump"):
            for bad in ("Xx", "fe", "X", "FE", "Fe1"):
                s = list(fx.symbols)
                s[k] = bad
                out.append((f"element-{bad}", fmt, _text(fx, fmt, symbols=s)))
        if fmt == "data":
            for label, m in (("1000", {1: 1000.0, 2: 51.9961}), ("0.5", {1: 55.845, 2: 0.5}),
                             ("og", {1: 294.0, 2: 51.9961}),
                             ("between", {1: 55.3, 2: 51.9961}), ("negative", {1: -55.845, 2: 51.9961})):
                out.append((f"masses-{label}", fmt, _text(fx, fmt, masses=m)))
    return out


def byte_defects(fx: Fixtures, rng: random.Random, n_random: int):
    """(name, fmt, text-or-bytes) of damaged files: empty, truncated, garbage, gz damage."""
    out = []
    for fmt in FORMATS:
        good = _text(fx, fmt)
        out.append(("empty", fmt, ""))
        out.append(("blank-lines", fmt, "\n\n   \n"))
        out.append(("binary-junk", fmt, bytes(rng.randrange(256) for _ in range(300))))
        out.append(("header-only", fmt, "".join(good.splitlines(True)[:4])))
    gz_fmts = ("dump", "data", "extxyz")
    for i in range(n_random):
        fmt = FORMATS[i % len(FORMATS)]
        good = _text(fx, fmt)
        lines = good.splitlines(True)
        what = rng.choice(("truncate", "truncate", "garbage-token", "drop-line", "dup-line", "garbage-bytes",
                           "gz-truncate", "gz-flip", "nan-token"))
        if what == "truncate":
            cut = rng.randrange(len(good) // 10, int(len(good) * 0.85))
            out.append((f"truncated-at-{cut}", fmt, good[:cut]))
        elif what in ("garbage-token", "nan-token"):
            body = rng.randrange(len(lines) // 2, len(lines))
            words = lines[body].split()
            j = rng.randrange(1, len(words))
            words[j] = rng.choice(("nan", "inf", "-inf")) if what == "nan-token" else \
                rng.choice(("abc", "1.2.3", "--", "1e999", "0x1f", "#", "''", "1,5"))
            lines[body] = " ".join(words) + "\n"
            out.append((f"{what}-line{body}", fmt, "".join(lines)))
        elif what == "drop-line":
            k = rng.randrange(len(lines) // 2, len(lines))
            out.append((f"drop-line{k}", fmt, "".join(lines[:k] + lines[k + 1:])))
        elif what == "dup-line":
            k = rng.randrange(len(lines) // 2, len(lines))
            out.append((f"dup-line{k}", fmt, "".join(lines[:k + 1] + lines[k:])))
        elif what == "garbage-bytes":
            data = bytearray(good.encode())
            at = rng.randrange(len(data) // 4, len(data) - 20)
            data[at:at + 16] = bytes(rng.randrange(256) for _ in range(16))
            out.append((f"garbage-bytes-at-{at}", fmt, bytes(data)))
        else:
            fmt = gz_fmts[i % 3]
            data = gzip.compress(_text(fx, fmt).encode(), mtime=0)
            if what == "gz-truncate":
                cut = rng.randrange(20, len(data) - 10)
                out.append((f"gz-truncated-at-{cut}", fmt + ".gz", data[:cut]))
            else:
                data = bytearray(data)
                at = rng.randrange(20, len(data) - 10)
                data[at] ^= 0x5A
                out.append((f"gz-flipped-at-{at}", fmt + ".gz", bytes(data)))
    out.append(("not-gzip", "dump.gz", _text(fx, "dump").encode()))
    return out


def write_file(fx: Fixtures, name: str, fmt: str, content) -> Path:
    base = fmt.removesuffix(".gz")
    path = fx.files / f"{name}-{base}{SUFFIX[base]}{'.gz' if fmt.endswith('.gz') else ''}"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# ----------------------------------------------------------------------------- consumers

def consumers(fx: Fixtures, path: Path, fmt: str):
    """(label, argv or call) of every command that reads a structure file."""
    typed = ["--species", "Fe", "Cr"] if fmt.startswith("dump-typed") else []
    f = str(path)
    return [
        ("read_structure", lambda: __import__("alloykit.structures").structures.read_structure(f, typed[1:] or None)),
        ("read_frames", lambda: list(__import__("alloykit.structures").structures.read_frames(f, typed[1:] or None))),
        ("relax", ["relax", "--structure", f, "--potential", "FeCr", "-o", "out.extxyz", *typed]),
        ("sro", ["sro", f, "--out", "o", "--quiet", *typed]),
        ("mpdm-count", ["mpdm", "count", f, "--out", "o", "--lattice", "bcc", "--quiet", *typed]),
        ("cnn-predict", ["cnn", "predict", fx.model, f, "--out", "o", "--sites", "0", "--quiet", *typed]),
        ("mcmd", ["mcmd", "--structure", f, "--potential", "FeCr", "--steps", "20", "--record-every", "10",
                  "--shells", "1", "--out", "o", "--quiet", *typed]),
        ("neb-run", ["neb", "run", "ds.sqlite", "--structure", f, "--potential", "FeCr", "--sites", "1",
                     "--replicas", "3", "--quiet", *typed]),
        ("grs", ["grs", "--target", f, "--natoms", "54", "--rcut", "4.0", "--steps", "5", "--out", "o", "--quiet",
                 *typed]),
        ("kmc", ["kmc", "--structure", f, "--barrier", "constant:0.6", "--steps", "5", "--out", "o", "--quiet",
                 *typed]),
    ]


def file_cases(fx: Fixtures, rng: random.Random, n_random: int, all_consumers: bool) -> list[Case]:
    out = []
    defects = semantic_defects(fx, rng) + byte_defects(fx, rng, n_random)
    for k, (name, fmt, content) in enumerate(defects):
        path = write_file(fx, f"{k:04d}-{name}", fmt, content)
        cons = consumers(fx, path, fmt)
        chosen = cons if all_consumers else [cons[0], cons[2 + k % (len(cons) - 2)]]
        for label, what in chosen:
            kw = {"argv": what} if isinstance(what, list) else {"call": what}
            kind = "file:" + name.split("-at-")[0].split("-line")[0]
            # a 'benign' mutation (e.g. a duplicated blank line) is rare; the names check
            # wants the file's name in the message
            out.append(Case(f"{k:04d}-{name}-{fmt}-{label}", kind, names=(path.name,), **kw))
    return out


# ----------------------------------------------------------------------------- models and checkpoints

class _Payload:
    """A pickle that would create a file when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def model_cases(fx: Fixtures, rng: random.Random) -> list[Case]:
    import shutil

    import torch

    out = []
    mdir = fx.root / "models"
    mdir.mkdir(exist_ok=True)
    cfg = json.loads((fx.model / "model.json").read_text())
    state = torch.load(fx.model / "weights.pt", weights_only=True)

    def cnn_variant(name, config=None, weights=None, raw_weights=None, raw_config=None):
        d = mdir / f"cnn-{name}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        if raw_config is not None:
            (d / "model.json").write_bytes(raw_config)
        else:
            (d / "model.json").write_text(json.dumps(cfg if config is None else config))
        if raw_weights is not None:
            (d / "weights.pt").write_bytes(raw_weights)
        else:
            torch.save(state if weights is None else weights, d / "weights.pt")
        return d

    def with_cfg(path, value):
        c = json.loads(json.dumps(cfg))
        node = c
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return c

    variants = []
    first = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
    nan_state = {k: v.clone() for k, v in state.items()}
    nan_state[first][0] = float("nan")
    inf_state = {k: v.clone() for k, v in state.items()}
    inf_state[first].view(-1)[-1] = float("inf")
    variants += [("nan-weights", dict(weights=nan_state)), ("inf-weights", dict(weights=inf_state)),
                 ("empty-weights", dict(weights={})), ("missing-weight", dict(weights=dict(list(state.items())[1:]))),
                 ("wrong-shape", dict(weights={**state, first: state[first][:1]})),
                 ("weights-not-dict", dict(weights=[1, 2, 3])),
                 ("weights-garbage", dict(raw_weights=b"not a torch file")),
                 ("weights-empty", dict(raw_weights=b"")),
                 ("config-garbage", dict(raw_config=b"{not json")),
                 ("config-empty", dict(raw_config=b"")),
                 ("config-list", dict(raw_config=b"[1, 2]"))]
    raw = (fx.model / "weights.pt").read_bytes()
    variants.append(("weights-truncated", dict(raw_weights=raw[: len(raw) // 2])))
    for path, value in ((("n_shells",), 1e6), (("n_shells",), 0), (("n_shells",), -1), (("n_shells",), "six"),
                        (("target_scale",), 0), (("target_scale",), float("nan")), (("target_scale",), -1),
                        (("target_mean",), float("inf")), (("a",), -2.8), (("a",), 0), (("a",), float("nan")),
                        (("lattice",), "hcp"), (("version",), 99), (("format",), "other"),
                        (("sdm", "delta"), -1), (("sdm", "delta"), 0), (("sdm", "delta"), float("nan")),
                        (("sdm", "r_c"), -1), (("sdm", "species"), []), (("sdm", "species"), ["Xx", "Cr"]),
                        (("sdm", "species"), ["fe", "Cr"]), (("network", "channels"), 0),
                        (("network", "grid"), 7), (("network", "grid"), 10 ** 6), (("network", "width"), -1),
                        (("network", "kind"), "transformer"), (("network",), None), (("sdm",), "x")):
        label = "-".join(str(p) for p in path) + f"={value}"
        try:
            variants.append((label, dict(config=with_cfg(path, value))))
        except (KeyError, TypeError):
            pass
    marker = str(mdir / "PICKLE_RAN_cnn")
    pickled = mdir / "pickled.pt"
    torch.save({"x": _Payload(marker)}, pickled)
    variants.append(("pickled-weights", dict(raw_weights=pickled.read_bytes())))
    records = mdir / "s.extxyz"
    records.write_text(_text(fx, "extxyz"))
    for name, kw in variants:
        d = cnn_variant(name, **kw)
        m = marker if "pickled" in name else None
        out.append(Case(f"cnn-model-{name}-predict", "model:cnn", ["cnn", "predict", d, records, "--sites", "0",
                                                                  "--out", "o", "--quiet"], names=(d.name,), marker=m))
        out.append(Case(f"cnn-model-{name}-eval", "model:cnn", ["cnn", "eval", d, fx.records, "--out", "o",
                                                               "--quiet"], names=(d.name,), marker=m))
        out.append(Case(f"cnn-model-{name}-load", "model:cnn",
                        call=lambda d=d: __import__("alloykit.cnn.io").cnn.io.load(d), names=(d.name,), marker=m))

    # mliap unified model files
    payload = torch.load(fx.akm, weights_only=True)
    config = json.loads(payload["config"])

    def akm(name, cfg_=None, tensors=None, raw_bytes=None, **top):
        p = mdir / f"mliap-{name}.akm"
        if raw_bytes is not None:
            p.write_bytes(raw_bytes)
            return p
        body = dict(payload, config=json.dumps(config if cfg_ is None else cfg_),
                    tensors=payload["tensors"] if tensors is None else tensors, **top)
        torch.save(body, p)
        return p

    t = payload["tensors"]
    akm_variants = [("rcut-neg", dict(cfg_={**config, "rcut": -5.0})), ("rcut-nan", dict(cfg_={**config, "rcut": float("nan")})),
                    ("rcut-zero", dict(cfg_={**config, "rcut": 0})), ("rcut-huge", dict(cfg_={**config, "rcut": 1e9})),
                    ("rcut-text", dict(cfg_={**config, "rcut": "five"})),
                    ("elements-Xx", dict(cfg_={**config, "element_types": ["Xx", "Cr"]})),
                    ("elements-empty", dict(cfg_={**config, "element_types": []})),
                    ("elements-dup", dict(cfg_={**config, "element_types": ["Fe", "Fe"]})),
                    ("sigma-nan", dict(tensors={**t, "sigma": torch.full_like(t["sigma"], float("nan"))})),
                    ("sigma-neg", dict(tensors={**t, "sigma": -t["sigma"]})),
                    ("eps-inf", dict(tensors={**t, "epsilon": torch.full_like(t["epsilon"], float("inf"))})),
                    ("tensors-empty", dict(tensors={})),
                    ("wrong-shape", dict(tensors={**t, "sigma": torch.ones(5)})),
                    ("class-foreign", dict(**{"class": "os:system"})),
                    ("version", dict(version=7)),
                    ("garbage", dict(raw_bytes=b"garbage")), ("empty", dict(raw_bytes=b"")),
                    ("truncated", dict(raw_bytes=fx.akm.read_bytes()[:200]))]
    marker2 = str(mdir / "PICKLE_RAN_akm")
    evil = mdir / "evil.akm"
    torch.save({"format": "alloykit.mliap.unified", "x": _Payload(marker2)}, evil)
    akm_variants.append(("pickled", dict(raw_bytes=evil.read_bytes())))
    for name, kw in akm_variants:
        p = akm(name, **kw)
        m = marker2 if name == "pickled" else None
        out.append(Case(f"mliap-model-{name}-show", "model:mliap", ["mliap", "show", p], names=(p.name,), marker=m))
        out.append(Case(f"mliap-model-{name}-load", "model:mliap",
                        call=lambda p=p: __import__("alloykit.mliap.store").mliap.store.load_model(p),
                        names=(p.name,), marker=m))

    # cnn train checkpoints (helper B validates them in cnn/train.py)
    marker3 = str(mdir / "PICKLE_RAN_ckpt")
    evil = mdir / "evil.ckpt"
    torch.save({"format": "x", "x": _Payload(marker3)}, evil)
    for name, content in (("empty", b""), ("garbage", b"\x00garbage"), ("json", b'{"format": 1}'),
                          ("pickled", evil.read_bytes()), ("a-model-file", fx.akm.read_bytes())):
        p = mdir / f"ckpt-{name}.ckpt"
        p.write_bytes(content)
        out.append(Case(f"cnn-checkpoint-{name}", "checkpoint:cnn",
                        ["cnn", "train", fx.records, "--checkpoint", p, "--out", "o", "--no-test", "--shells", "1",
                         "--delta", "1.0", "--blocks", "1", "--width", "2", "--epochs", "1", "--batch-size", "8",
                         "--quiet"], names=(p.name,), marker=marker3 if name == "pickled" else None))

    # datasets: neb files that are not datasets, record files that are damaged
    for name, content in (("empty", b""), ("text", b"hello\n"), ("garbage", bytes(range(256)) * 4),
                          ("sqlite-truncated", b"SQLite format 3\x00" + bytes(200))):
        p = mdir / f"ds-{name}.sqlite"
        p.write_bytes(content)
        # (an empty file is a new dataset to sqlite: 'neb run' on it would start NEBs)
        run = [["neb", "run", p, "--potential", "FeCr", "--size", "2", "--sites", "1", "--replicas", "3"]]
        for sub in [["neb", "status", p], ["neb", "export", p, "-o", "x.jsonl"], ["neb", "spectrum", p],
                    ["cnn", "eval", fx.model, p, "--out", "o"]] + (run if name != "empty" else []):
            out.append(Case(f"dataset-{name}-{'-'.join(map(str, sub[:2])).replace('/', '')}", "dataset",
                            sub, names=(p.name,)))
    good = fx.records.read_text().splitlines()
    rec_variants = [("empty", ""), ("garbage-line", good[0] + "\n{broken\n"), ("not-json", "hello\n"),
                    ("list-line", "[1,2]\n"), ("nan-barrier", good[0].replace('"barrier": ', '"barrier": NaN, "x": ', 1)),
                    ("truncated", "\n".join(good)[: len("\n".join(good)) // 3])]
    for name, content in rec_variants:
        p = mdir / f"rec-{name}.jsonl"
        p.write_text(content)
        out.append(Case(f"records-{name}-eval", "dataset", ["cnn", "eval", fx.model, p, "--out", "o"],
                        names=(p.name,), benign=name == "nan-barrier"))   # an unfinished NEB: skipped
        if name == "nan-barrier":
            continue
        out.append(Case(f"records-{name}-train", "dataset", ["cnn", "train", p, "--out", "o", "--epochs", "1",
                                                             "--quiet"], names=(p.name,)))
    gz = mdir / "rec-truncated.jsonl.gz"
    gz.write_bytes(gzip.compress(fx.records.read_bytes())[:300])
    out.append(Case("records-gz-truncated-eval", "dataset", ["cnn", "eval", fx.model, gz, "--out", "o"],
                    names=(gz.name,)))
    return out


# ----------------------------------------------------------------------------- options

def option_cases(fx: Fixtures) -> list[Case]:
    """Bad option values: each goes into an otherwise valid, cheap command line."""
    s = str(fx.files / "base.extxyz")
    Path(s).write_text(_text(fx, "extxyz"))
    lj = ["mliap", "lj", "m.akm", "--species", "Fe", "Cr", "--epsilon", "0.01", "--sigma", "2.3", "--rcut", "5"]
    morse = ["mliap", "morse", "m.akm", "--species", "Fe", "--d0", "0.4", "--alpha", "1.4", "--r0", "2.5",
             "--rcut", "6"]
    relax = ["relax", "--structure", s, "--potential", "FeCr", "-o", "r.extxyz"]
    mcmd = ["mcmd", "--lattice", "bcc", "--composition", "Fe=0.8,Cr=0.2", "--size", "2", "--potential", "FeCr",
            "--steps", "20", "--record-every", "10", "--shells", "1", "--out", "o", "--quiet"]
    sro = ["sro", s, "--out", "o", "--quiet"]
    count = ["mpdm", "count", s, "--out", "o", "--quiet"]
    energies = ["mpdm", "energies", "--cells", "4", "--size", "1", "--potential", "FeCr", "--out", "o", "--quiet"]
    neb = ["neb", "run", "n.sqlite", "--potential", "FeCr", "--size", "2", "--sites", "1", "--replicas", "3",
           "--quiet"]
    train = ["cnn", "train", fx.records, "--out", "o", "--no-test", "--shells", "1", "--delta", "1.0", "--blocks",
             "1", "--width", "2", "--epochs", "1", "--batch-size", "8", "--quiet"]
    predict = ["cnn", "predict", fx.model, s, "--out", "o", "--sites", "0", "--quiet"]
    grs = ["grs", "--target", s, "--natoms", "54", "--rcut", "4.0", "--steps", "5", "--out", "o", "--quiet"]
    kmc = ["kmc", "--lattice", "bcc", "--composition", "Fe=0.8,Cr=0.2", "--size", "3", "--a", "2.8665",
           "--barrier", "constant:0.6",
           "--steps", "10", "--out", "o", "--quiet"]
    NUM = ("nan", "inf", "-inf", "abc")
    table = [
        (lj, {"--epsilon": NUM, "--sigma": NUM + ("-1", "0"), "--rcut": NUM + ("-1", "0"),
              "--species": (("Xx",), ("fe",), ("Fe", "Fe"))}),
        (morse, {"--d0": NUM, "--alpha": NUM + ("-1", "0"), "--r0": NUM + ("-1",), "--rcut": NUM + ("0",)}),
        (relax, {"--ftol": NUM + ("-1", "0"), "--pressure": NUM, "--species": (("Xx", "Cr"),)}),
        (mcmd, {"--temperature": NUM + ("-1", "0"), "--steps": ("-1", "0", "1.5", "nan"),
                "--timestep": NUM + ("0", "-0.001", "1"), "--pressure": NUM, "--swap-every": ("0", "-1"),
                "--swap-trials": ("-1",), "--record-every": ("0", "-5"), "--checkpoint-every": ("-1",),
                "--dump-every": ("-1",), "--shells": ("-1", "100"), "--converge-window": ("0", "-1"),
                "--converge-tol": NUM + ("-1",), "--size": ("0", "-2", "1000000"), "--a": NUM + ("-1", "0"),
                "--sample-seed": ("-1", "nan"), "--seed": ("-1", "abc"), "--sgcmc-fraction": ("2", "-1", "nan"),
                "--spectra-bins": ("0",), "--spectra-every": ("-1",), "--composition": ("Fe=nan,Cr=0.2", "Xx=1",
                                                                                      "fe=0.5,cr=0.5", "Fe=-1,Cr=2")}),
        (sro, {"--shells": ("0", "-1", "1000", "nan"), "--every": ("0", "-1"), "--species": (("Xx",),)}),
        (count, {"--cutoff": NUM + ("-1", "0", "1e4"), "--rms-angle": NUM + ("-1",),
                 "--min-classified": ("2", "-1", "nan")}),
        (["mpdm", "table", "--out", "o", "--quiet"], {"-k": ("0", "1", "-1", "nan", "1000"),
                                                      "--species": (("Fe", "Fe"), ("A",))}),
        (["mpdm", "theory", "--out", "o", "--quiet"], {"--composition": ("nan", "1.5", "-0.2", "Fe=nan", "0,0",
                                                                         "inf", "Fe=0.5", "0.5,0.5,nan")}),
        (energies, {"--cells": ("-1", "0", "3", "1e9"), "--size": ("0", "-1", "1000"), "--ridge": NUM + ("-1",),
                    "--test-fraction": ("0", "1", "-1", "nan"), "--species": (("Xx", "Cr"), ("Fe",))}),
        (neb, {"--step": NUM + ("0", "-1", "2"), "--min-fraction": ("-1", "1", "nan"), "--per-composition": ("0", "-1"),
               "--size": ("0", "-1", "1000"), "--a": NUM + ("-1",), "--replicas": ("0", "1", "2", "1000"),
               "--groups": ("0", "-1", "1000"), "--spring": NUM + ("-1", "0"), "--ftol": NUM + ("0", "-1"),
               "--n1": ("-1", "0"), "--n2": ("-1",), "--env-cutoff": NUM + ("-1", "0", "1e6"),
               "--sites": ("-1", "abc", "1,x", "0"), "--composition": ("Fe=nan,Cr=0.2", "Xx=1")}),
        (train, {"--shells": ("0", "-1", "1e6"), "--delta": NUM + ("-1", "0"), "--grid6": ("0", "-1", "7"),
                 "--blocks": ("0", "-1"), "--width": ("0", "-1"), "--epochs": ("0", "-1"),
                 "--batch-size": ("0", "1", "-1"), "--lr": NUM + ("0", "-1"), "--patience": ("-1",),
                 "--n-test": ("-1",), "--val-fraction": ("1", "-1", "nan", "2"), "--threads": ("0", "-1")}),
        (predict, {"--sites": ("-1", "1000000"), "--threads": ("0", "-1")}),
        (grs, {"--natoms": ("0", "-1", "1e8"), "--rcut": NUM + ("-1", "0", "1e4"), "--steps": ("-1",),
               "--parent": ("bcc:1e-3", "bcc:-1", "bcc:nan", "hcp:-3", "xyz:3")}),
        (kmc, {"--temperature": NUM + ("-1", "0"), "--nu": NUM + ("0", "-1"), "--steps": ("-1", "nan"),
               "--size": ("0", "-1"), "--vacancies": ("-1", "1000000"), "--replicas": ("0", "-1"),
               "--shells": ("0", "9"), "--a": ("nan", "-1")}),
    ]
    out = []
    for base, opts in table:
        cmd = "-".join(w for w in base[:2] if not str(w).startswith("-") and "/" not in str(w))
        for opt, values in opts.items():
            for v in values:
                vals = list(v) if isinstance(v, tuple) else [v]
                argv = list(base)
                if opt in argv:       # replace the base value (single-valued options)
                    i = argv.index(opt)
                    j = i + 1
                    while j < len(argv) and not str(argv[j]).startswith("-"):
                        j += 1
                    argv[i:j] = [opt, *vals]
                else:
                    argv += [opt, *vals]
                out.append(Case(f"opt-{cmd}{opt}={','.join(vals)}", "option", argv,
                                names=(opt, opt.lstrip("-"), opt.lstrip("-").replace("-", "_"))))
    # valid controls: the cheap commands must still work
    out += [Case("ok-mliap-lj", "control", lj, benign=True), Case("ok-sro", "control", sro, benign=True),
            Case("ok-mpdm-table", "control", ["mpdm", "table", "--out", "o", "--quiet"], benign=True),
            Case("ok-read-extxyz", "control", call=lambda: __import__("alloykit.structures").structures.read_structure(s),
                 benign=True)]
    # Python entry points with bad values
    out += [
        Case("api-lj-Xx", "api", call=lambda: _lj(["Xx"], 0.01, 2.3, 5.0), names=("Xx",)),
        Case("api-lj-sigma-neg", "api", call=lambda: _lj(["Fe"], 0.01, -1.0, 5.0), names=("sigma",)),
        Case("api-lj-rcut-nan", "api", call=lambda: _lj(["Fe"], 0.01, 2.3, float("nan")), names=("rcut",)),
        Case("api-meta-table-k0", "api", call=lambda: __import__("alloykit.mpdm.enumerate").mpdm.enumerate.meta_table("bcc", 0),
             names=("n_species",)),
        Case("api-neb-replicas-1000", "api", call=lambda: _neb_settings(replicas=1000), names=("replicas",)),
        Case("api-grs-min-distance-neg", "api", call=_grs_min_distance, names=("min_distance",)),
    ]
    # atoms built in Python reach LAMMPS without a reader: alloykit.lmp should apply
    # structures.check_structure where it puts atoms into LAMMPS (lmp/structure.py put_atoms)
    for label, value in (("nan", float("nan")), ("1e300", 1e300), ("origin", None)):
        out.append(Case(f"api-lmp-evaluate-{label}", "api", call=lambda v=value: _evaluate(fx, v),
                        names=("atom",)))
    return out


def _evaluate(fx: Fixtures, value):
    from ase import Atoms

    from alloykit.lmp import evaluate

    pos = np.zeros_like(fx.positions) if value is None else fx.positions.copy()
    if value is not None:
        pos[5, 0] = value
    evaluate(Atoms(fx.symbols, positions=pos, cell=fx.cell, pbc=True), "FeCr")



def _lj(elements, eps, sigma, rcut):
    from alloykit.mliap.models import TorchLennardJones

    TorchLennardJones(elements, epsilon=eps, sigma=sigma, rcut=rcut)


def _neb_settings(**kw):
    from alloykit.neb.driver import NebSettings

    NebSettings(potential="FeCr", **kw).check()


def _grs_min_distance():
    import inspect

    from alloykit import grs

    gen = getattr(grs, "generate", None)
    if gen is None:
        raise AssertionError("alloykit.grs.generate not found")
    from alloykit.structures import random_solid_solution

    target = random_solid_solution("bcc", {"Fe": 0.5, "Cr": 0.5}, (2, 2, 2), A_FECR, 0)
    kw = {"min_distance": -1}
    params = inspect.signature(gen).parameters
    if "steps" in params:
        kw["steps"] = 5
    gen([target], 16, **kw)


# ----------------------------------------------------------------------------- the whole set

def cases(fx: Fixtures, seed: int = 0, n_random: int = 60, all_consumers: bool = False) -> list[Case]:
    rng = random.Random(seed)
    out = file_cases(fx, rng, n_random, all_consumers) + model_cases(fx, rng) + option_cases(fx)
    names = [c.name for c in out]
    assert len(names) == len(set(names)), "case names must be unique"
    return out


def sample(all_cases: list[Case], n: int, seed: int) -> list[Case]:
    """``n`` cases, every kind represented (seeded)."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Case]] = {}
    for c in all_cases:
        by_kind.setdefault(c.kind, []).append(c)
    chosen = [rng.choice(v) for v in by_kind.values()]
    rest = [c for c in all_cases if c not in chosen]
    chosen += rng.sample(rest, max(0, min(len(rest), n - len(chosen))))
    return chosen


def table(results: list[dict]) -> str:
    from collections import Counter

    n = Counter(r["outcome"] for r in results)
    total = max(len(results), 1)
    rows = ["| outcome | count | share |", "|---|---|---|"]
    rows += [f"| {o} | {n.get(o, 0)} | {100 * n.get(o, 0) / total:.0f} % |" for o in OUTCOMES]
    return "\n".join(rows)


# ----------------------------------------------------------------------------- the tests

N_TEST_CASES = int(os.environ.get("ALLOYKIT_FUZZ_CASES", "300"))
TEST_SEED = int(os.environ.get("ALLOYKIT_FUZZ_SEED", "15"))


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return Fixtures(tmp_path_factory.mktemp("fuzz"))


def _test_cases():
    """Cases are made once per module (their files live in a temporary folder, so they
    cannot exist at collection); pytest parametrizes over indices into the seeded sample,
    and a failure names its case."""
    return list(range(N_TEST_CASES))


@pytest.fixture(scope="module")
def chosen(fx):
    return sample(cases(fx, seed=TEST_SEED, n_random=60), N_TEST_CASES, TEST_SEED)


@pytest.mark.parametrize("i", _test_cases())
def test_fuzz_case(i, chosen, fx):
    if i >= len(chosen):
        pytest.skip("fewer cases than slots")
    case = chosen[i]
    res = run_case(case, fx.root, timeout=25)
    want = "benign" if case.benign else "clean"
    assert res["outcome"] == want, f"{case.name}: {res['outcome']}: {res['message']}\n{res.get('trace', '')}"


def test_console_script_exit_status_and_one_line(fx, tmp_path):
    """The real console script: exit 2, one stderr line naming the file, no traceback."""
    import subprocess

    exe = Path(sys.executable).parent / "alloykit"
    empty = tmp_path / "empty.dump"
    empty.write_text("")
    bad = tmp_path / "nan.extxyz"
    p = fx.positions.copy()
    p[3, 1] = float("nan")
    bad.write_text(_text(fx, "extxyz", pos=p))
    for argv, name in ((["sro", empty], empty.name), (["relax", "--structure", bad, "--potential", "FeCr", "-o",
                                                       tmp_path / "r.extxyz"], bad.name),
                       (["cnn", "train", fx.records, "--lr", "inf"], "--lr"),
                       (["mliap", "show", tmp_path / "missing.akm"], "missing.akm")):
        r = subprocess.run([str(exe), *map(str, argv)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and name in lines[0], (argv, r.returncode, r.stderr)
        assert "Traceback" not in r.stderr


def test_every_numeric_option_is_validated():
    """Every int/float option of every command uses a cliopts type (one place for the
    checks), except those of commands owned elsewhere, listed."""
    import argparse

    from alloykit.cli import build_parser

    bare = []

    def walk(parser, path):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, path + [name])
            elif a.type in (int, float):
                bare.append(f"{' '.join(path)} {a.option_strings[0] if a.option_strings else a.dest}")

    walk(build_parser(), [])
    mine = [b for b in bare if not b.split()[0] in ("grs", "kmc")]
    assert not mine, mine
