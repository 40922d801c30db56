"""Helpers shared by the benchmark scripts: machine description and JSON output."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def write(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **data}, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def add_cnn_options(parser, epochs: int):
    """The options the CNN benchmarks share (dataset, training length, network, threads)."""
    parser.add_argument("--dataset")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blocks", type=int, help="CNN n (4n convolutions); default 1 on CPU, 3 on CUDA")
    parser.add_argument("--width", type=int, help="CNN filters; default 16 on CPU, 60 on CUDA")
    parser.add_argument("--augment", default="symmetry", choices=["none", "rotation", "symmetry", "both"],
                        help="CNN augmentation (default symmetry: exact lattice maps; the paper: rotation)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: robust on a shared machine)")
    return parser


def parse_torch_run(parser, argv=None):
    """Add --threads/--seed/--quick, parse, and set torch's thread count."""
    import torch

    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run: checks the script, not the science")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    return args


def cached_target(path: Path, structures):
    """The GRS target of ``structures``, built once and kept in ``path`` (target JSON)."""
    from alloykit.grs import Target, build_target

    if Path(path).is_file():
        return Target.load(path)
    target = build_target(structures)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    target.save(path)
    return target
