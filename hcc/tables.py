"""Table 1 (baseline characteristics by group) and the tests behind its P column.

Categorical variables: n (%) per level; P by Pearson's chi-square with Yates' continuity
correction on 2×2 tables and plain Pearson on larger ones (R ``chisq.test`` default,
which is what R ``tableone::CreateTableOne`` uses and what reproduces the paper), by the
uncorrected chi-square (``test="chi2"``) or by Fisher's exact test (``test="fisher"``, exact
also for r×c tables, as R ``fisher.test``). The requested test is always the test used.

Continuous variables: median [Q1, Q3] with R's type-7 quantiles and the Kruskal–Wallis
test (R ``kruskal.test``), or mean (SD) and one-way ANOVA for variables not listed as
non-normal.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hcc._checks import codes_levels, require_frame
from hcc._format import format_p
from hcc._results import Result
from hcc.errors import DataError, ParameterError

TESTS = ("yates", "chi2", "fisher")


def test_phrase(test: str) -> str:
    """The categorical test in words, for a table's note: "chi-square with Yates correction"."""
    if test == "fisher":
        return "Fisher exact"
    return "chi-square" + (" with Yates correction" if test == "yates" else "")


TEST_LABELS = {"yates": "Chi-square (Yates)", "chi2": "Chi-square", "fisher": "Fisher exact",
               "kruskal": "Kruskal–Wallis", "anova": "ANOVA"}
#: Maximum number of tables the exact r×c Fisher test enumerates before refusing.
FISHER_MAX_TABLES = 20_000_000
_REL_ERR = 1 + 1e-7  # R fisher.test: tables with probability <= observed * (1 + 1e-7)


# --------------------------------------------------------------------------- small helpers
def quantile_type7(x, q):
    """Sample quantiles as R ``quantile(x, q, type = 7)`` (R's default).

    Missing values (NaN) are dropped. Returns a float for a scalar *q*, else an array.

    Notes
    -----
    R computes ``(1 - h) * x[lo] + h * x[hi]`` with ``h = 1 + (n - 1) q - lo``; the same
    expression is used here so results agree to the last bit. (numpy's
    ``np.quantile(method="linear")`` is the same estimator but interpolates as
    ``a + (b - a) h``: about 1 value in 6 differs from R's in the last bit.)
    """
    if isinstance(x, np.ndarray) and x.dtype.kind in "iuf":  # numbers already: no parsing
        arr = np.ravel(x).astype(float)
    else:
        arr = pd.to_numeric(pd.Series(np.ravel(x)), errors="coerce").to_numpy(dtype=float)
    arr = np.sort(arr[~np.isnan(arr)])
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    if np.any((qs < 0) | (qs > 1)):
        raise ParameterError("Quantile probabilities must be between 0 and 1.")
    if arr.size == 0:
        out = np.full(qs.shape, np.nan)
    else:
        index = 1 + (arr.size - 1) * qs
        lo = np.floor(index).astype(int)
        h = index - lo
        a, b = arr[lo - 1], arr[np.ceil(index).astype(int) - 1]
        out = np.where((index > lo) & (b != a), (1 - h) * a + h * b, a)
    return float(out[0]) if np.ndim(q) == 0 else out


def _as_table(table) -> np.ndarray:
    arr = np.asarray(table.to_numpy() if isinstance(table, pd.DataFrame) else table, dtype=float)
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise DataError("A contingency table needs at least 2 rows and 2 columns of counts.")
    if np.isnan(arr).any() or (arr < 0).any() or (arr != np.round(arr)).any():
        raise DataError("A contingency table must hold whole, non-negative counts.")
    return arr


def _chisq_p(arr: np.ndarray, correct: bool) -> float:
    """R ``chisq.test(x, correct)`` = scipy ``chi2_contingency(x, correction=correct)``: both
    apply Yates' correction only to a table with one degree of freedom (2×2). A row or column
    without any count makes the test undefined: NaN, as R (scipy raises instead)."""
    from scipy.stats import chi2_contingency

    if (arr.sum(axis=0) == 0).any() or (arr.sum(axis=1) == 0).any():
        return float("nan")
    return float(chi2_contingency(arr, correction=correct).pvalue)


def _fisher_2x2(arr: np.ndarray) -> float:
    from scipy.stats import hypergeom

    m = int(arr[:, 0].sum())
    n = int(arr[:, 1].sum())
    k = int(arr[0, :].sum())
    x = int(arr[0, 0])
    lo, hi = max(0, k - n), min(k, m)
    support = np.arange(lo, hi + 1)
    logd = hypergeom.logpmf(support, m + n, m, k)
    d = np.exp(logd - logd.max())
    d /= d.sum()
    return float(min(1.0, d[d <= d[x - lo] * _REL_ERR].sum()))


def _fisher_rxc(arr: np.ndarray) -> float:
    """Exact two-sided Fisher P for an r×c table by enumerating every table with its margins."""
    from scipy.special import gammaln

    arr = arr[arr.sum(axis=1) > 0][:, arr.sum(axis=0) > 0].astype(np.int64)
    if min(arr.shape) < 2:
        return 1.0
    if arr.shape[0] > arr.shape[1]:
        arr = arr.T
    rows = arr.sum(axis=1)
    cols = arr.sum(axis=0)
    N = int(arr.sum())
    const = gammaln(rows + 1).sum() + gammaln(cols + 1).sum() - gammaln(N + 1)
    lf = gammaln(np.arange(N + 2) + 1.0)  # log factorials
    obs = const - lf[arr].sum()
    threshold = obs + math.log(_REL_ERR)
    r = arr.shape[0]
    counter = [0]
    total = [0.0]

    def columns(remaining, c):
        """Every vector of r non-negative ints <= remaining summing to c (as an int array)."""
        if r == 2:
            lo_, hi_ = max(0, c - remaining[1]), min(c, remaining[0])
            a = np.arange(lo_, hi_ + 1)
            return np.stack([a, c - a], axis=1)
        out = []

        def rec(i, left, acc):
            if i == r - 1:
                if left <= remaining[i]:
                    out.append(acc + [left])
                return
            for v in range(max(0, left - int(remaining[i + 1:].sum())), min(left, remaining[i]) + 1):
                rec(i + 1, left - v, acc + [v])

        rec(0, c, [])
        return np.array(out, dtype=np.int64).reshape(-1, r)

    def walk(j, remaining, partial):
        if j == len(cols) - 1:  # last column is determined
            lp = partial - lf[remaining].sum()
            counter[0] += 1
            if lp <= threshold:
                total[0] += math.exp(lp)
            return
        cand = columns(remaining, int(cols[j]))
        if j == len(cols) - 2:  # vectorise the last two columns
            last = remaining[None, :] - cand
            lp = partial - lf[cand].sum(axis=1) - lf[last].sum(axis=1)
            counter[0] += cand.shape[0]
            total[0] += float(np.exp(lp[lp <= threshold]).sum())
        else:
            for v in cand:
                walk(j + 1, remaining - v, partial - lf[v].sum())
        if counter[0] > FISHER_MAX_TABLES:
            raise DataError("This table is too large for Fisher's exact test by full enumeration; "
                            "use the chi-square test (test='yates' or 'chi2').")

    walk(0, rows.copy(), const)
    return float(min(1.0, total[0]))


def compare_categorical(table, test: str = "yates") -> float:
    """P-value comparing the columns (groups) of a contingency table of counts.

    Parameters
    ----------
    table : 2-D array-like or DataFrame of counts (levels × groups or groups × levels).
    test : {"yates", "chi2", "fisher"}
        "yates": Pearson chi-square, Yates-corrected on 2×2 tables (R ``chisq.test``
        default); "chi2": uncorrected; "fisher": exact (R ``fisher.test``; r×c tables by
        full enumeration, never Monte Carlo).

    Returns
    -------
    float

    Notes
    -----
    R parity: ``chisq.test(x)``, ``chisq.test(x, correct = FALSE)``, ``fisher.test(x)``.
    Fisher's two-sided P sums the probabilities of all tables with the same margins whose
    probability is at most the observed one times ``1 + 1e-7`` (R's tolerance). Rows or
    columns without any count make the chi-square undefined (NaN, as in R).
    """
    if test not in TESTS:
        raise ParameterError(f"test must be one of {', '.join(TESTS)}; got {test!r}.")
    arr = _as_table(table)
    if test == "fisher":
        trimmed = arr[arr.sum(axis=1) > 0][:, arr.sum(axis=0) > 0]
        if trimmed.shape == (2, 2):
            return _fisher_2x2(trimmed)
        return _fisher_rxc(arr)
    return _chisq_p(arr, correct=(test == "yates"))


def _groups(values: np.ndarray, codes: np.ndarray, k: int) -> list[np.ndarray]:
    """The values of each non-empty group (R's ``factor`` drops unused levels)."""
    return [g for g in (values[codes == j] for j in range(k)) if g.size]


def _kruskal_p(values: np.ndarray, codes: np.ndarray, k: int) -> float:
    """R ``kruskal.test`` = scipy ``kruskal`` (H with the tie correction, chi-square on g - 1
    df); NaN, as R, with fewer than two groups or when every value is the same."""
    from scipy.stats import kruskal

    groups = _groups(values, codes, k)
    if len(groups) < 2:
        return float("nan")
    try:
        return float(kruskal(*groups).pvalue)
    except ValueError:  # scipy: "All numbers are identical"
        return float("nan")


def _anova_p(values: np.ndarray, codes: np.ndarray, k: int) -> float:
    """One-way ANOVA with equal variances (R ``oneway.test(var.equal = TRUE)`` / ``aov``) =
    scipy ``f_oneway``; NaN with fewer than two groups or no residual variation."""
    import warnings

    from scipy.stats import f_oneway

    groups = _groups(values, codes, k)
    if len(groups) < 2 or values.size - len(groups) < 1:
        return float("nan")
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # scipy's degenerate-data warnings: NaN says it
        return float(f_oneway(*groups).pvalue)


def _smd_categorical(p1: np.ndarray, p2: np.ndarray) -> float:
    """Yang & Dalton (2012) multinomial SMD (R ``tableone`` ``ExtractSmd``)."""
    if p1.size < 2:
        return 0.0
    t = p1[1:] - p2[1:]
    S = (np.diag(p1[1:] + p2[1:]) - np.outer(p1[1:], p1[1:]) - np.outer(p2[1:], p2[1:])) / 2
    return math.sqrt(max(float(t @ np.linalg.pinv(S) @ t), 0.0))


# --------------------------------------------------------------------------- Table 1
#: How a 0/1 variable is laid out: "one" row (the 1s, as the paper's "Surgery (%)") or its "levels".
BINARY_LAYOUTS = ("one", "levels")


class TableOneResult(Result):
    """Baseline characteristics by group.

    Attributes
    ----------
    summary : DataFrame
        Index (variable, level); columns ``"Overall (n=N)"``, one ``"<group> (n=k)"`` per
        group, ``"P"`` (float, on the first row of each variable, NaN elsewhere), ``"test"``
        and, with ``smd=True``, ``"SMD"``. Cells are text: ``n (%)`` or
        ``median [Q1, Q3]``. A 0/1 variable shown as one row has the level ``""``.
    pvalues : Series
        P by variable (column name, not label), floats.
    notes : tuple of str
        Expected counts below 5, missing values, dropped rows.
    """

    def __init__(self, table: pd.DataFrame, pvalues: pd.Series, notes, title: str, counts: dict):
        self._table = table
        self.pvalues = pvalues
        self.notes = tuple(notes)
        self.title = title
        #: variable → DataFrame of counts (levels × groups) used for each categorical test.
        self.counts = counts

    @property
    def summary(self) -> pd.DataFrame:
        return self._table

    def _display(self) -> pd.DataFrame:
        shown = self._table.copy()
        shown["P"] = [format_p(p) for p in shown["P"]]
        if "SMD" in shown:
            shown["SMD"] = ["" if pd.isna(v) else f"{v:.3f}" for v in shown["SMD"]]
        return shown


def _is_continuous(s: pd.Series) -> bool:
    if s.dtype == bool or isinstance(s.dtype, pd.CategoricalDtype):
        return False
    if not pd.api.types.is_numeric_dtype(s):
        return False
    u = pd.unique(s.to_numpy())
    return int(np.sum(~pd.isna(u))) > 2


def _is_binary(s: pd.Series, levels: list) -> bool:
    """A 0/1 (or False/True) column: numeric or boolean, no level other than 0 and 1."""
    if not (s.dtype == bool or pd.api.types.is_numeric_dtype(s)):
        return False
    return all(lev in (0, 1) for lev in levels)


def _fmt_num(v: float, digits: int) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _count_cell(n, denom, digits: int) -> str:
    """``"n (%)"``; the percent is blank when the denominator is 0."""
    return f"{n} ({_fmt_num(100 * n / denom if denom else float('nan'), digits)})"


@dataclass
class _Variable:
    """The rows of one variable of Table 1 and what goes on its first row."""

    rows: list  # (level text, cells: Overall then each group)
    p: float
    test: str
    smd: float = float("nan")
    counts: np.ndarray | None = None  # levels × groups (categorical variables)


def _prepare(df, by, variables, nonnormal, test, labels):
    """Checked arguments: (df without patients lacking a group, variables, continuous,
    nonnormal, labels, notes)."""
    if test not in TESTS:
        raise ParameterError(f"test must be one of {', '.join(TESTS)}; got {test!r}.")
    require_frame(df, {"group column": by})
    variables = [c for c in df.columns if c != by] if variables is None else list(variables)
    for v in variables:
        require_frame(df, {"row of the table": v})
    if by in variables:
        raise DataError(f"The group column '{by}' cannot also be a row of the table.")
    notes: list[str] = []
    no_group = df[by].isna()
    if no_group.any():
        notes.append(f"{int(no_group.sum())} patient(s) without a value of '{by}' are left out.")
        df = df.loc[~no_group]
    if len(df) == 0:
        raise DataError(f"No patient has a value of '{by}'.")
    continuous = [v for v in variables if _is_continuous(df[v])]
    nonnormal = continuous if nonnormal is None else list(nonnormal)
    unknown_nn = [v for v in nonnormal if v not in variables]
    if unknown_nn:
        raise DataError(f"nonnormal lists column(s) that are not rows of the table: {', '.join(unknown_nn)}.")
    return df, variables, continuous, nonnormal, dict(labels or {}), notes


def _continuous(x, gcodes, k, nonnormal: bool, digits: int, smd: bool) -> _Variable:
    """Median [Q1, Q3] and Kruskal–Wallis, or mean (SD) and ANOVA, on complete cases *x*."""
    if nonnormal:
        def cell(vals):
            if vals.size == 0:
                return ""
            q1, med, q3 = quantile_type7(vals, [0.25, 0.5, 0.75])
            return f"{_fmt_num(med, digits)} [{_fmt_num(q1, digits)}, {_fmt_num(q3, digits)}]"
        level, tname, p = "median [Q1, Q3]", "kruskal", _kruskal_p(x, gcodes, k)
    else:
        def cell(vals):
            if vals.size == 0:
                return ""
            sd = float(np.std(vals, ddof=1)) if vals.size > 1 else float("nan")
            return f"{_fmt_num(float(vals.mean()), digits)} ({_fmt_num(sd, digits)})"
        level, tname, p = "mean (SD)", "anova", _anova_p(x, gcodes, k)
    out = _Variable([(level, [cell(x)] + [cell(x[gcodes == i]) for i in range(k)])], p, tname)
    if smd and k >= 2:
        vals = []
        for i in range(k):
            for j in range(i + 1, k):
                a, b = x[gcodes == i], x[gcodes == j]
                if a.size > 1 and b.size > 1:
                    den = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
                    vals.append(abs(a.mean() - b.mean()) / den if den > 0 else float("nan"))
        out.smd = float(np.mean(vals)) if vals else float("nan")
    return out


def _categorical_test(tab: np.ndarray, test: str, label: str, notes: list) -> tuple[float, str]:
    """P and test name of a levels × groups table (empty rows / columns left out, noted)."""
    sub = tab[tab.sum(axis=1) > 0][:, tab.sum(axis=0) > 0]
    tname = test
    if sub.shape[0] < 2 or sub.shape[1] < 2:
        p = float("nan")
        notes.append(f"{label}: no test (only one level or one group has values).")
    else:
        if sub.shape != tab.shape:
            notes.append(f"{label}: groups without any value are left out of the test.")
        p = compare_categorical(sub, test)
        if test in ("yates", "chi2"):
            from scipy.stats.contingency import expected_freq

            n_small = int((expected_freq(sub.astype(float)) < 5).sum())
            if n_small:
                notes.append(f"{label}: {n_small} expected count(s) below 5; the chi-square "
                             "approximation may be poor (Fisher's exact test is available "
                             "with test='fisher'). The chi-square P is shown.")
    if tname == "yates" and sub.shape != (2, 2):
        tname = "chi2"  # Yates' correction only exists for 2×2 tables (R chisq.test)
    return p, tname


def _categorical(lcodes, levels, gcodes, k, *, level_labels, one_row: bool, digits: int,
                 smd: bool, test: str, label: str, notes: list) -> _Variable:
    """n (%) per level (or of the 1s only, *one_row*), the test and the SMD on complete cases."""
    ok = lcodes >= 0
    L = len(levels)
    tab = np.bincount(lcodes[ok] * k + gcodes[ok], minlength=L * k).reshape(L, k)
    denom_g = tab.sum(axis=0)
    order = sorted(range(L), key=lambda li: (list(level_labels).index(levels[li])
                                             if levels[li] in level_labels else len(level_labels), li))
    shown = [(str(level_labels.get(levels[li], levels[li])), tab[li]) for li in order]
    if one_row:  # the 1s (a column of 0s only has none)
        ones = [li for li, lev in enumerate(levels) if lev == 1]
        shown = [("", tab[ones[0]] if ones else np.zeros(k, dtype=np.int64))]
    rows = [(lev, [_count_cell(int(t.sum()), tab.sum(), digits)]
             + [_count_cell(int(t[gi]), denom_g[gi], digits) for gi in range(k)])
            for lev, t in shown]
    p, tname = _categorical_test(tab, test, label, notes)
    out = _Variable(rows, p, tname, counts=tab)
    if smd and k >= 2:
        props = tab / np.where(denom_g == 0, 1, denom_g)
        out.smd = float(np.mean([_smd_categorical(props[:, i], props[:, j])
                                 for i in range(k) for j in range(i + 1, k)]))
    return out


def _missing_row(miss, gcodes, k, n_g, digits: int) -> tuple[str, list[str]]:
    n_miss_g = np.bincount(gcodes[miss], minlength=k)
    return ("Missing", [_count_cell(int(miss.sum()), len(miss), digits)]
            + [_count_cell(int(n_miss_g[i]), n_g[i], digits) for i in range(k)])


def _assemble(described: dict, labels: dict, colnames: list, smd: bool) -> pd.DataFrame:
    records, index = [], []
    for v, d in described.items():
        for i, (lev, cells) in enumerate(d.rows):
            index.append((labels.get(v, v), lev))
            rec = dict(zip(colnames, cells))
            rec["P"] = d.p if i == 0 else float("nan")
            rec["test"] = TEST_LABELS[d.test] if i == 0 else ""
            if smd:
                rec["SMD"] = d.smd if i == 0 else float("nan")
            records.append(rec)
    cols = colnames + ["P", "test"] + (["SMD"] if smd else [])
    return pd.DataFrame(records, index=pd.MultiIndex.from_tuples(index, names=["variable", "level"]),
                        columns=cols)


def table_one(df: pd.DataFrame, by: str, variables=None, nonnormal=None, test: str = "yates",
              smd: bool = False, labels: dict | None = None, digits: int = 1,
              levels: dict | None = None, binary: str = "one") -> TableOneResult:
    """Baseline characteristics by group, laid out as a paper's Table 1.

    Parameters
    ----------
    df : DataFrame
        One row per patient.
    by : str
        Grouping column (e.g. ``"arm"``). Rows without a group are left out (noted).
    variables : list of str, optional
        Columns to describe, in order (default: every column except *by*).
    nonnormal : list of str, optional
        Continuous variables summarised by median [Q1, Q3] with the Kruskal–Wallis test;
        the others get mean (SD) and one-way ANOVA. Default: every continuous variable.
    test : {"yates", "chi2", "fisher"}
        Test for categorical variables (never switched silently; expected counts below 5
        are reported in ``notes``).
    smd : bool
        Add a standardised mean difference column (mean of the pairwise SMDs with more
        than two groups, as R ``tableone``).
    labels : dict, optional
        column → display label used in the index.
    digits : int
        Decimals of percentages and continuous summaries.
    levels : dict, optional
        column → {value: label} for the level rows (the paper's "PS 0", "≤ 3"), shown in
        the dict's order (levels it does not list follow). A 0/1 variable listed here keeps
        its level rows.
    binary : {"one", "levels"}
        A 0/1 (or boolean) variable not listed in *levels*: ``"one"`` (default, as the
        paper's "Surgery (%)") prints one row, n (%) of the 1s, with level ``""``;
        ``"levels"`` prints a row per level (``"0"``, ``"1"``). P, SMD and ``counts`` use
        every level either way.

    Returns
    -------
    TableOneResult

    Notes
    -----
    Numeric columns with more than two distinct values are continuous; the others are
    categorical. Missing values are counted in a "Missing" row (percent of all patients of
    the column); level percentages and P-values use complete cases. R parity:
    ``tableone::CreateTableOne(..., nonnormal = ...)`` with ``exact = NULL``, i.e.
    ``chisq.test`` (Yates on 2×2), ``kruskal.test``, R ``quantile`` type 7.
    """
    if binary not in BINARY_LAYOUTS:
        raise ParameterError(f"binary must be one of {', '.join(BINARY_LAYOUTS)}; got {binary!r}.")
    df, variables, continuous, nonnormal, labels, notes = _prepare(df, by, variables, nonnormal,
                                                                   test, labels)
    level_labels = dict(levels or {})
    gcodes, groups = codes_levels(df[by])
    k = len(groups)
    n_g = np.bincount(gcodes, minlength=k)
    colnames = [f"Overall (n={len(df)})"] + [f"{g} (n={n})" for g, n in zip(groups, n_g)]
    described, counts_by_var = {}, {}
    for v in variables:
        label = labels.get(v, v)
        if v in continuous:
            x = pd.to_numeric(df[v], errors="coerce").to_numpy(dtype=float)
            miss = np.isnan(x)
            d = _continuous(x[~miss], gcodes[~miss], k, v in nonnormal, digits, smd)
        else:
            lcodes, levs = codes_levels(df[v])
            miss = lcodes < 0
            one_row = binary == "one" and v not in level_labels and _is_binary(df[v], levs)
            d = _categorical(lcodes, levs, gcodes, k, level_labels=level_labels.get(v, {}),
                             one_row=one_row, digits=digits, smd=smd, test=test, label=label,
                             notes=notes)
            counts_by_var[v] = pd.DataFrame(d.counts, index=pd.Index(levs, name=v),
                                            columns=pd.Index(groups, name=by))
        if miss.any():
            d.rows.append(_missing_row(miss, gcodes, k, n_g, digits))
            notes.append(f"{label}: {int(miss.sum())} missing value(s); percentages and P use complete cases.")
        described[v] = d
    table = _assemble(described, labels, colnames, smd)
    pvals = pd.Series({v: d.p for v, d in described.items()}, name="P", dtype=float)
    return TableOneResult(table, pvals, notes, f"Characteristics by {labels.get(by, by)}", counts_by_var)
