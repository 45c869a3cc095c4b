"""The ``hcc`` command line.

::

    hcc validate PATH [--mapping FILE.yaml] [--kind cohort|adverse_events] [--adverse-events PATH]
    hcc fidelity [--data PATH] [--json]
    hcc plausibility [--data PATH] [--adverse-events PATH] [--cutoff DATE] [--json]
    hcc reconstruct [--seed N] [--out DIR] [--no-cache] [--quiet]
    hcc ensemble --n N --out DIR [--seed-start S] [--scheduler ADDRESS] [--workers K]
                 [--budget B] [--chains C] [--quiet]
    hcc build [-p NAME=VALUE ...] [--params FILE.yaml] [--data PATH] [--adverse-events PATH]
              [--only NOTEBOOK ...] [--jobs N] [--quiet] [--strict]
    hcc serve [--port N]
    hcc --version

Exit codes: 0 success / valid; 1 invalid data, failed fidelity or plausibility or an error in
the data or parameters; 2 a file that cannot be read or a wrong command line (for
``plausibility``: also a file that breaks the data dictionary); 3 an internal error (a
bug: please report it). Messages are one line each; there is never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE, EXIT_INTERNAL = 0, 1, 2, 3


def _out(msg: str = "") -> None:
    print(msg, file=sys.stdout)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


# ----------------------------------------------------------------------------- commands
def _cmd_validate(args) -> int:
    from hcc.errors import ValidationError
    from hcc.cohort.validate import check_file

    try:
        checked = check_file(args.path, mapping=args.mapping, kind=args.kind)
    except ValidationError as e:
        for p in e.problems:
            _out(str(p))
        return EXIT_UNREADABLE if e.unreadable else EXIT_INVALID
    name = Path(args.path).name
    if checked.problems:
        for p in checked.problems:
            _out(str(p))
        n = len(checked.problems)
        _err(f"{name}: {n} problem{'s' if n != 1 else ''} found; the file does not follow "
             "the data dictionary")
        return EXIT_INVALID
    frame = checked.frame
    how = ""
    if checked.attrs.get("format") == "csv":
        delim = {",": "comma", ";": "semicolon", "\t": "tab"}.get(checked.attrs.get("delimiter"), "")
        how = f" (CSV, {delim}-separated, encoding {checked.attrs.get('encoding')})"
    elif checked.attrs.get("format"):
        how = f" ({checked.attrs['format']})"
    layout = {"analysis": "analysis columns", "raw": "raw export columns with dates",
              "adverse_events": "adverse events"}.get(checked.layout, checked.layout)
    book = []
    if args.kind == "cohort":  # what the book needs, beyond the dictionary (hcc.readiness)
        from hcc.readiness import check_inputs, errors

        book = check_inputs(args.path, getattr(args, "adverse_events", None), mapping=args.mapping)
        if errors(book):
            for p in book:
                _out(str(p))
            n = len(errors(book))
            _err(f"{name}: follows the data dictionary, but the book cannot run on it "
                 f"({n} problem{'s' if n != 1 else ''}; each line names the chapter and the column)")
            return EXIT_INVALID
    _out(f"{name}: valid — {len(frame)} rows, {layout}{how}")
    missing = frame.isna().sum()
    missing = missing[missing > 0]
    if checked.layout == "raw":
        missing = missing.drop([c for c in ("progression_date", "death_date",
                                            "last_contact_date") if c in missing.index])
    for col, k in missing.items():
        _out(f"{name}, column '{col}': {k} missing value{'s' if k != 1 else ''} "
             f"({100 * k / len(frame):.1f}%); analyses of this column leave those rows out")
    for p in book:  # warnings: the book runs, these results are to be read with care
        _out(str(p))
    return EXIT_OK


def _json_value(v):
    """A summary cell as JSON: numpy scalars as Python, NaN as null, infinity as text."""
    import numpy as np

    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if np.isnan(v):
            return None
        if np.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return v
    return v


def _cmd_fidelity(args) -> int:
    import numpy as np

    from hcc.fidelity import fidelity_report

    rep = fidelity_report(args.data) if args.data else fidelity_report()
    s = rep.summary
    if args.json:
        clean = _json_value
        payload = {
            "items": [{k: clean(v) for k, v in r.items()} for r in s.to_dict("records")],
            "score": rep.score,
            "exact_2dp": {"equal": rep.exact_2dp[0], "compared": rep.exact_2dp[1]},
            "as_printed": {k: {"equal": int(r["equal"]), "compared": int(r["compared"])}
                           for k, r in rep.as_printed().iterrows()},
            "passed": rep.passed,
            "notes": list(rep.notes),
        }
        _out(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        import pandas as pd

        view = s[["section", "item", "paper", "ours", "tolerance", "ok"]].copy()
        view["ours"] = [f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
                        for v in view["ours"]]
        view["ok"] = ["excluded" if not isinstance(v, (bool, np.bool_)) else
                      ("ok" if v else "FAIL") for v in view["ok"]]
        with pd.option_context("display.max_rows", None, "display.width", 200,
                               "display.max_colwidth", 70):
            _out(view.to_string(index=False))
        _out()
        for sec, v in rep.score.items():
            _out(f"{sec}: {v['passed']}/{v['total']} within tolerance"
                 + (f", {v['excluded']} excluded" if v["excluded"] else ""))
        eq, n = rep.exact_2dp
        _out(f"HR and CI limits equal at the printed 2 decimals: {eq}/{n}")
        for sec, row in rep.as_printed().iterrows():
            _out(f"Cox numbers as printed ({sec}): {row['equal']}/{row['compared']}")
        for note in rep.notes:
            _out(f"Note: {note}")
    return EXIT_OK if rep.passed else EXIT_INVALID


def _cmd_plausibility(args) -> int:
    from hcc.errors import DataError, ValidationError
    from hcc.plausibility import plausibility_report

    try:
        rep = plausibility_report(args.data, ae=args.adverse_events, cutoff=args.cutoff)
    except ValidationError as e:
        for p in e.problems:
            _out(str(p))
        return EXIT_UNREADABLE
    except DataError as e:
        what = f"{Path(args.data).name}: " if args.data else ""
        _err(f"hcc plausibility: {what}{_one_line(e)}")
        return EXIT_UNREADABLE
    s = rep.summary
    if args.json:
        payload = {"checks": [{k: _json_value(v) for k, v in r.items()}
                              for r in s.to_dict("records")],
                   "passed": rep.passed, "failed": rep.failed, "notes": list(rep.notes)}
        _out(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        import pandas as pd

        view = s[["section", "check", "ours", "ok"]].copy()
        view["ok"] = ["n/a" if v is None else ("ok" if v else "FAIL") for v in view["ok"]]
        with pd.option_context("display.max_rows", None, "display.width", 250,
                               "display.max_colwidth", 110):
            _out(view.to_string(index=False))
        _out()
        counted = [v for v in s["ok"] if v is not None]
        _out(f"{sum(counted)}/{len(counted)} checks pass"
             + (f"; failed: {', '.join(rep.failed)}" if rep.failed else ""))
        for note in rep.notes:
            _out(f"Note: {note}")
    return EXIT_OK if rep.passed else EXIT_INVALID


def _cmd_reconstruct(args) -> int:
    from hcc import paths
    from hcc.reconstruct import reconstruct

    seed = paths.DEFAULT_SEED if args.seed is None else args.seed
    kwargs = {"seed": seed, "progress": not args.quiet, "cache": not args.no_cache}
    if args.out is not None:
        kwargs["out"] = Path(args.out)
    elif seed == paths.DEFAULT_SEED:
        kwargs["out"] = paths.DATA_DIR  # the shipped cohort (ARCHITECTURE.md "Files")
    result = reconstruct(**kwargs)
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    if not args.quiet:
        where = kwargs.get("out") or (result.get("path") if isinstance(result, dict) else None)
        line = f"reconstructed cohort (seed {seed})"
        if where is not None:
            line += f" written to {where}"
        if isinstance(result, dict) and result.get("seconds") is not None:
            line += (" (from the cache)" if result.get("cached") else
                     f" in {result['seconds']:.1f} s")
        _out(line)
    return EXIT_OK


def _cmd_ensemble(args) -> int:
    from hcc import paths
    from hcc.reconstruct.ensemble import run_ensemble, scheduler_address

    if args.n < 1 or args.workers < 1 or (args.budget is not None and args.budget < 1) \
            or (args.chains is not None and args.chains < 1):
        raise _UsageError("hcc ensemble: --n, --workers, --budget and --chains must be 1 or more")
    seed_start = paths.DEFAULT_SEED if args.seed_start is None else args.seed_start
    if seed_start < 0:
        raise _UsageError("hcc ensemble: --seed-start must be 0 or more")
    run = run_ensemble(n=args.n, out=Path(args.out), seed_start=seed_start,
                       scheduler=args.scheduler, workers=args.workers, budget=args.budget,
                       chains=args.chains, progress=not args.quiet)
    if not args.quiet:
        where = scheduler_address(args.scheduler) or f"a local cluster of {args.workers} workers"
        counts = {}
        for v in run.sources.values():
            counts[v] = counts.get(v, 0) + 1
        _out(f"ensemble: {len(run.members)} of {args.n} cohorts ("
             + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
             + f") on {where} in {run.wall:.1f} s; written to {args.out}")
        for seed in sorted(run.seconds):  # wall clock of each task built or loaded now
            _out(f"  seed {seed}: {run.seconds[seed]:.1f} s ({run.sources[seed]})")
    for seed, msg in sorted(run.failures.items()):
        _err(f"hcc ensemble: seed {seed} failed: {msg}")
    return EXIT_INVALID if run.failures else EXIT_OK


def _parse_overrides(items: list[str] | None) -> dict[str, str]:
    from hcc.errors import ParameterError

    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"-p expects NAME=VALUE, got {item!r}")
        out[name.strip()] = value
    return out


def _cmd_build(args) -> int:
    from hcc.pipeline.run import run_build

    extra = {"strict": True} if args.strict else {}
    if args.adverse_events is not None:
        extra["adverse_events"] = args.adverse_events
    code = run_build(overrides=_parse_overrides(args.param),
                     params_file=Path(args.params) if args.params else None,
                     data=args.data, only=args.only or None, jobs=args.jobs,
                     progress=not args.quiet, **extra)
    return int(code or 0)


def _cmd_serve(args) -> int:
    from hcc.pipeline.site import serve

    serve(host=args.host, port=args.port)
    return EXIT_OK


# ----------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and lets :func:`main` return the code."""

    def error(self, message):  # noqa: D401
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status=0, message=None):
        if message:
            _err(message.rstrip())
        raise _Exit(status)


class _UsageError(Exception):
    pass


class _Exit(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _add_plausibility(sub) -> None:
    q = sub.add_parser("plausibility", help="does the cohort look like a real study? (exit 0 "
                       "all checks pass, 1 a check fails, 2 unusable input)")
    q.add_argument("--data", metavar="PATH", help="cohort file: raw export with dates or "
                   "analysis columns (default: the shipped cohort)")
    q.add_argument("--adverse-events", metavar="PATH", default=None, help="adverse-event file "
                   "(default: adverse_events.csv beside the cohort file)")
    q.add_argument("--cutoff", metavar="DATE", default=None, help="data cut-off (default: the "
                   "latest date in the file)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=_cmd_plausibility)


def build_parser() -> argparse.ArgumentParser:
    from hcc import __version__

    p = _Parser(prog="hcc", description="Executable book of Li, Ding, Li & Chen (2022): "
                "second-line treatment of HCC after sorafenib, on a synthetic reconstructed "
                "cohort.")
    p.add_argument("--version", action="version", version=f"hcc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("validate", help="check a cohort or adverse-event file against the "
                       "data dictionary and what the book's chapters need (exit 0 valid, "
                       "1 invalid, 2 unreadable)")
    v.add_argument("path", metavar="PATH", help="CSV, .xlsx or .parquet file")
    v.add_argument("--mapping", metavar="FILE.yaml", help="map other column names, labels "
                   "and date formats onto the data dictionary")
    v.add_argument("--kind", choices=("cohort", "adverse_events"), default="cohort")
    v.add_argument("--adverse-events", metavar="PATH", dest="adverse_events",
                   help="the adverse-event file to use with this cohort: its patients must be "
                   "in the cohort (default: adverse_events.csv beside PATH, if any)")
    v.set_defaults(func=_cmd_validate)

    f = sub.add_parser("fidelity", help="the paper's numbers beside ours (exit 1 if any "
                       "non-excluded item is outside tolerance)")
    f.add_argument("--data", metavar="PATH", help="cohort file (default: the shipped cohort)")
    f.add_argument("--json", action="store_true", help="print JSON")
    f.set_defaults(func=_cmd_fidelity)

    _add_plausibility(sub)

    r = sub.add_parser("reconstruct", help="build the synthetic cohort from the published "
                       "numbers")
    r.add_argument("--seed", type=int, default=None, help="random seed (default: the "
                   "shipped cohort's)")
    r.add_argument("--out", metavar="DIR", default=None, help="output folder (default: "
                   "hcc/data for the default seed, else the cache only)")
    r.add_argument("--no-cache", action="store_true", help="rebuild even if cached")
    r.add_argument("--quiet", action="store_true", help="no progress display")
    r.set_defaults(func=_cmd_reconstruct)

    e = sub.add_parser("ensemble", help="build N reconstructions with distinct seeds on Dask and "
                       "summarise what the seed decides (exit 1 if a seed failed)")
    e.add_argument("--n", type=int, required=True, help="number of seeds")
    e.add_argument("--out", metavar="DIR", required=True, help="folder for ensemble.csv, "
                   "summary.csv, manifest.json (rows already there are kept: resume)")
    e.add_argument("--seed-start", type=int, default=None, dest="seed_start", metavar="S",
                   help="first seed (default: the shipped cohort's)")
    e.add_argument("--scheduler", metavar="ADDRESS", default=None, help="a running Dask "
                   "scheduler (default: $DASK_SCHEDULER_ADDRESS, else a local cluster)")
    e.add_argument("--workers", type=int, default=2, metavar="K", help="local cluster: worker "
                   "processes, one thread each (default 2)")
    e.add_argument("--budget", type=int, default=None, metavar="B", help="moves per chain "
                   "(default: the generator's)")
    e.add_argument("--chains", type=int, default=None, metavar="C", help="chains at most "
                   "(default: the generator's)")
    e.add_argument("--quiet", action="store_true", help="no progress display")
    e.set_defaults(func=_cmd_ensemble)

    b = sub.add_parser("build", help="execute the notebooks and build the book")
    b.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                   help="override a notebook parameter (repeatable)")
    b.add_argument("--params", metavar="FILE.yaml", help="parameters file")
    b.add_argument("--data", metavar="PATH", help="run the book on this cohort file "
                   "(checked first as `hcc validate` does; row-level data are then never shown)")
    b.add_argument("--adverse-events", metavar="PATH", dest="adverse_events",
                   help="adverse-event file (one row per event) for chapter 6; with our "
                   "cohort or with --data (default: adverse_events.csv beside --data, if any)")
    b.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="only these notebooks")
    b.add_argument("--jobs", type=int, default=None, metavar="N", help="parallel notebooks")
    b.add_argument("--quiet", action="store_true", help="no progress display")
    b.add_argument("--strict", action="store_true", help="Sphinx warnings are errors")
    b.set_defaults(func=_cmd_build)

    s = sub.add_parser("serve", help="serve the built book locally")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--host", default="127.0.0.1")
    s.set_defaults(func=_cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the ``hcc`` command line; return the exit code (never raises, never a traceback)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return EXIT_UNREADABLE
        return int(args.func(args))
    except _Exit as e:
        return int(e.code or 0)
    except _UsageError as e:
        _err(str(e))
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        _err("hcc: interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - the top level turns everything into one line
        from hcc.errors import HCCError, ValidationError

        if isinstance(e, ValidationError):
            for p in e.problems:
                _out(str(p))
            return EXIT_UNREADABLE if e.unreadable else EXIT_INVALID
        if isinstance(e, HCCError):
            _err(f"hcc: {_one_line(e)}")
            return EXIT_INVALID
        if isinstance(e, ModuleNotFoundError) and (e.name or "").startswith("hcc."):
            _err(f"hcc: this part of the package is not available yet ({e.name})")
            return EXIT_INTERNAL
        _err(f"hcc: internal error ({type(e).__name__}: {_one_line(e)}); please report it")
        return EXIT_INTERNAL


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:500] if text else type(e).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
