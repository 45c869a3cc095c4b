"""Do two revisions of hcc give the same numbers on one cohort? (issue 14: a layout change
must not change what the book reports.)

    python benchmarks/compare_revisions.py REV_A REV_B [--data DIR]

Each revision's ``hcc/`` is exported with ``git archive`` into a temporary folder and run
in its own process on the same cohort (default: REV_A's shipped ``hcc/data``): the fidelity
report (every printed number: ours, within tolerance, as printed), Table 1's P-values and
counts, the Kaplan–Meier medians, the univariate and multivariable Cox tables of both
endpoints, the response and safety tables. Prints the numbers compared and every
difference; exit 1 when there is one. Layout (row labels, formatting) is not compared:
only the numbers a reader reads.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys
import numpy as np
import hcc
data = sys.argv[1]
cohort = hcc.load_cohort(data + "/cohort.csv")
ae = hcc.load_adverse_events(data + "/adverse_events.csv")
out = {}
def put(prefix, frame):
    for (r, c), v in frame.stack(future_stack=True).items():
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[f"{prefix} | {r} | {c}"] = None if v != v else round(float(v), 9)
fid = hcc.fidelity_report(cohort=cohort, ae=ae).summary
for _, row in fid.iterrows():
    out[f"fidelity | {row['item']}"] = [str(row["ours"]), str(row["ok"]), str(row["as_printed"])]
from hcc import paper
t1 = hcc.table_one(cohort, by="arm", variables=list(paper.TABLE1_P), nonnormal=["age"])
for v, p in t1.pvalues.items():
    out[f"table1 P | {v}"] = round(float(p), 12)
for v, c in t1.counts.items():
    out[f"table1 counts | {v}"] = np.asarray(c).tolist()
for ep in ("os", "pfs"):
    put(f"km {ep}", hcc.km(cohort, f"{ep}_months", f"{ep}_event", group="arm").summary)
    from hcc.fidelity import cox_design
    scr = hcc.cox_screen(cox_design(cohort), f"{ep}_months", f"{ep}_event", list(paper.COX_TERMS))
    put(f"cox uni {ep}", scr.univariate)
    put(f"cox multi {ep}", scr.multivariate.summary)
put("response", hcc.response_table(cohort, "arm", "best_response").summary)
put("safety", hcc.safety_table(ae, cohort, arm="arm").summary)
print(json.dumps(out))
"""


def numbers(rev: str, data: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "hcc"], check=True,
                             capture_output=True).stdout
        tf = Path(tmp) / "rev.tar"
        tf.write_bytes(tar)
        with tarfile.open(tf) as t:
            t.extractall(tmp, filter="data")
        res = subprocess.run([sys.executable, "-c", PROBE, str(data)], cwd=tmp,
                             capture_output=True, text=True, env={"PYTHONPATH": tmp, "PATH": "/usr/bin:/bin",
                                                                  "MPLBACKEND": "Agg"})
        if res.returncode != 0:
            sys.exit(f"{rev}: the probe failed:\n{res.stderr[-2000:]}")
        return json.loads(res.stdout.splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev_a")
    ap.add_argument("rev_b")
    ap.add_argument("--data", type=Path, help="cohort folder (default: REV_A's hcc/data)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            tar = subprocess.run(["git", "-C", str(ROOT), "archive", args.rev_a, "hcc/data"],
                                 check=True, capture_output=True).stdout
            (Path(tmp) / "d.tar").write_bytes(tar)
            with tarfile.open(Path(tmp) / "d.tar") as t:
                t.extractall(tmp, filter="data")
            data = Path(tmp) / "hcc" / "data"
        a, b = numbers(args.rev_a, data), numbers(args.rev_b, data)
    keys = sorted(set(a) | set(b))
    diff = [k for k in keys if a.get(k) != b.get(k)]
    print(f"{len(keys)} numbers compared ({len(set(a) & set(b))} in both revisions); "
          f"{len(diff)} differ")
    for k in diff:
        print(f"  {k}: {args.rev_a} {a.get(k)!r}  {args.rev_b} {b.get(k)!r}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
