"""``alloykit demo --out DIR``: every capability's stage on the embedded default system
(BCC Fe-Cr with the wheel's FeCr.cdeam), written as DIR/summary.json, PNG plots and
DIR/report.md.

A capability adds a stage by listing ``"module:function"`` in ``STAGES``; the function
takes a :class:`DemoContext` and returns a JSON-able dict (its summary). It writes its
plots with ``ctx.savefig`` and its lines of report with ``ctx.say``; objects for later
stages go into ``ctx.artifacts``.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cliopts
from .cliopts import DEFAULT_SEED

STAGES = (
    ("foundation", "alloykit.lmp.demo:stage"),
    ("mpdm", "alloykit.mpdm.demo:stage"),
    ("csro", "alloykit.csro.demo:stage"),
    ("neb", "alloykit.neb.demo:stage"),
    ("cnn", "alloykit.cnn.demo:stage"),
    ("grs", "alloykit.grs.demo:stage"),
)


@dataclass
class DemoContext:
    out: Path
    seed: int = DEFAULT_SEED
    quick: bool = False
    lines: list[str] = field(default_factory=list)
    # what one stage hands to later ones (e.g. "aged_fecr": the MC/MD-aged Atoms)
    artifacts: dict = field(default_factory=dict)

    def say(self, text: str = "") -> None:
        self.lines.append(text)

    def savefig(self, fig, name: str) -> str:
        path = self.out / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
        self.say(f"![{name}]({name})")
        return name


def _load(target: str):
    modname, fn = target.split(":")
    try:
        mod = importlib.import_module(modname)
    except ModuleNotFoundError as e:
        if e.name and modname.startswith(e.name):
            return None
        raise
    return getattr(mod, fn)


def run_demo(out: str | Path, seed: int = DEFAULT_SEED, quick: bool = False, only: list[str] | None = None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out=out, seed=seed, quick=quick)
    ctx.say("# alloykit demo: BCC Fe-Cr with FeCr.cdeam")
    summary: dict = {"seed": seed, "stages": {}}
    for name, target in STAGES:
        if only and name not in only:
            continue
        fn = _load(target)
        if fn is None:
            continue
        print(f"[demo] stage {name} ...", file=sys.stderr, flush=True)
        ctx.say(f"\n## {name}\n")
        t0 = time.perf_counter()
        result = fn(ctx)
        result["seconds"] = round(time.perf_counter() - t0, 2)
        summary["stages"][name] = result
        # written after every stage: a later failure keeps what is done
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        (out / "report.md").write_text("\n".join(ctx.lines) + "\n")
    return summary


def register(sub) -> None:
    p = sub.add_parser("demo", help="run every stage on the embedded Fe-Cr default",
                       description=__doc__.split("\n\n")[0],
                       parents=[cliopts.common(), cliopts.out("demo_out"), cliopts.seed()])
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    p.add_argument("--only", nargs="+", metavar="STAGE", help="run only these stages")
    p.set_defaults(func=_run)


def _run(args) -> int:
    summary = run_demo(args.out, args.seed, args.quick, args.only)
    out = Path(args.out)
    for name, result in summary["stages"].items():
        print(f"{name}: done in {result['seconds']} s")
    print(f"wrote {out / 'summary.json'} and {out / 'report.md'}")
    return 0
