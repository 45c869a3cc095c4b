"""Best overall tumour response by arm: category counts, ORR and DCR with exact CIs.

ORR (objective response rate) = CR + PR; DCR (disease control rate) = CR + PR + SD, as
proportions of all patients of the arm. Confidence intervals are Clopper–Pearson (exact,
R ``binom.test``); P compares responders vs non-responders across arms with the test
chosen (Yates-corrected chi-square by default, as the paper; ``"chi2"`` or ``"fisher"``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hcc._checks import group_codes, require_frame
from hcc._format import format_p
from hcc._results import Result
from hcc.errors import DataError, ParameterError
from hcc.tables import TESTS, compare_categorical, test_phrase

CATEGORIES = ("CR", "PR", "SD", "PD")
NOT_EVALUABLE = "NE"


def clopper_pearson(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial CI of x/n (R ``binom.test(x, n)$conf.int``)."""
    from scipy.stats import beta

    if n == 0:
        return float("nan"), float("nan")
    lower = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lower, upper


class ResponseResult(Result):
    """Response table.

    Attributes
    ----------
    summary : DataFrame
        Index: CR, PR, SD, PD (NE when some patients have no assessment), ORR, DCR. Columns
        per arm ``"<arm> n"``, ``"<arm> %"``, ``"<arm> lower"``, ``"<arm> upper"`` (CI in %,
        ORR/DCR rows only) and ``"P"`` (ORR/DCR rows).
    counts : DataFrame
        Category × arm counts.
    rates : DataFrame
        Index (measure, arm) with ``responders, n, rate, lower, upper`` (proportions).
    p_orr, p_dcr : float
    """

    def __init__(self, counts: pd.DataFrame, rates: pd.DataFrame, p: dict, test: str, alpha: float,
                 arm: str, notes=()):
        self.counts = counts
        self.rates = rates
        self.p_orr, self.p_dcr = p["ORR"], p["DCR"]
        self.test, self.alpha, self.arm_col = test, alpha, arm
        self.arms = list(counts.columns)
        self.notes = tuple(notes)
        self.title = f"Best overall response by {arm}"

    @property
    def summary(self) -> pd.DataFrame:
        idx = list(self.counts.index) + ["ORR", "DCR"]
        out = pd.DataFrame(index=pd.Index(idx, name="response"))
        for a in self.arms:
            n_arm = self.counts[a].sum()
            ns = list(self.counts[a].to_numpy()) + [self.rates.loc[("ORR", a), "responders"],
                                                   self.rates.loc[("DCR", a), "responders"]]
            out[f"{a} n"] = np.asarray(ns, dtype=int)
            out[f"{a} %"] = 100 * np.asarray(ns, dtype=float) / n_arm if n_arm else np.nan
            lo = [np.nan] * len(self.counts) + [100 * self.rates.loc[(m, a), "lower"] for m in ("ORR", "DCR")]
            up = [np.nan] * len(self.counts) + [100 * self.rates.loc[(m, a), "upper"] for m in ("ORR", "DCR")]
            out[f"{a} lower"] = lo
            out[f"{a} upper"] = up
        out["P"] = [np.nan] * len(self.counts) + [self.p_orr, self.p_dcr]
        cats = list(self.counts.index)
        # the sums the table states, for complementary suppression (hcc.chapter.suppress.suppress_small_counts)
        out.attrs["hcc_row_sums"] = [(None, cats), ("ORR", ["CR", "PR"]), ("DCR", ["CR", "PR", "SD"]),
                                     ("DCR", ["ORR", "SD"]),
                                     (None, ["DCR", "PD"] + [c for c in cats if c not in CATEGORIES[:4]])]
        return out

    def _display(self) -> pd.DataFrame:
        s = self.summary
        shown = pd.DataFrame(index=s.index)
        for a in self.arms:
            cells = []
            for r in s.index:
                text = f"{s.loc[r, f'{a} n']} ({s.loc[r, f'{a} %']:.1f}%)"
                if not np.isnan(s.loc[r, f"{a} lower"]):
                    text += f" [{s.loc[r, f'{a} lower']:.1f}–{s.loc[r, f'{a} upper']:.1f}]"
                cells.append(text)
            shown[f"{a} (n={int(self.counts[a].sum())})"] = cells
        shown["P"] = [format_p(p) for p in s["P"]]
        return shown

    def _display_notes(self) -> tuple[str, ...]:
        level = int(round(100 * (1 - self.alpha)))
        return tuple(self.notes) + (f"ORR = CR + PR; DCR = CR + PR + SD; {level}% Clopper–Pearson CI; "
                                    f"P: {test_phrase(self.test)}.",)

    def hidden(self, mask) -> pd.DataFrame:
        """Category × arm: True where a masked figure hides the bar.

        The cells the masked table hides (small, or hidden so that they cannot be worked out
        from the others: :func:`hcc.chapter.suppress.suppress_small_counts`), and — because a figure
        shows their sum as 100 % minus the rest — further categories (smallest first) until
        the hidden ones of an arm hold at least ``mask.k`` patients together."""
        from hcc.chapter.suppress import suppress_small_counts

        cats = list(self.counts.index)
        out = pd.DataFrame(False, index=cats, columns=self.arms)
        if mask is None or not mask.active:
            return out
        masked = suppress_small_counts(self.summary, mask.k, page=mask.page)
        for a in self.arms:
            out[a] = [isinstance(v, str) for v in masked.loc[cats, f"{a} n"]]
            # what a figure shows of them is their sum (100 % minus the rest): at least k
            while 0 < self.counts.loc[out[a], a].sum() < mask.k and not out[a].all():
                rest = self.counts.loc[~out[a], a]
                rest = rest[rest > 0]
                if rest.empty:
                    break
                out.loc[rest.idxmin(), a] = True
        return out

    def plot(self, ax=None, kind: str = "stacked", colors=None, mask=None):
        """Bars of the response categories per arm (percent of the arm); returns the Axes.

        ``kind="stacked"`` stacks CR/PR/SD/PD to 100%; ``kind="grouped"`` puts them side by side.

        With an active *mask* (:class:`hcc.pipeline.privacy.Mask`) the bars hide what the masked table
        hides (:meth:`hidden`: a count of 1 to k − 1 and the cells hidden with it): in a
        stacked bar the hidden categories of an arm are drawn as one grey hatched segment
        without a label (their sum, never one of them: at least two are hidden, so the height
        gives no single count); in grouped bars they are not drawn. Labels and the arm sizes
        under the bars follow the same rule, and the axis label says what was hidden.
        """
        import matplotlib.pyplot as plt

        from hcc.plots import RESPONSE_COLORS

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        pct = 100 * self.counts / self.counts.sum(axis=0)
        cats = list(pct.index)
        hide = self.hidden(mask)
        cmap = dict(RESPONSE_COLORS)
        if colors:
            cmap.update(colors)
        x = np.arange(len(self.arms))
        if kind == "stacked":
            bottom = np.zeros(len(self.arms))
            for c in cats:
                vals = np.where(hide.loc[c].to_numpy(), 0.0, pct.loc[c].to_numpy(dtype=float))
                ax.bar(x, vals, bottom=bottom, color=cmap.get(c, "0.7"), label=c, width=0.6,
                       edgecolor="white")
                for xi, v, b in zip(x, vals, bottom):
                    if v >= 6:
                        ax.text(xi, b + v / 2, f"{v:.1f}%", ha="center", va="center", fontsize=8)
                bottom += vals
            rest = np.array([pct.loc[hide[a], a].sum() for a in self.arms], dtype=float)
            if rest.any():
                ax.bar(x, rest, bottom=bottom, color="0.85", hatch="///", edgecolor="white", width=0.6,
                       label="hidden")
            ax.set_ylim(0, 100)
        elif kind == "grouped":
            w = 0.8 / len(cats)
            for i, c in enumerate(cats):
                vals = pct.loc[c].to_numpy(dtype=float)
                shown = ~hide.loc[c].to_numpy()
                ax.bar((x - 0.4 + w * (i + 0.5))[shown], vals[shown], width=w,
                       color=cmap.get(c, "0.7"), label=c)
        else:
            raise ParameterError("kind must be 'stacked' or 'grouped'.")
        sizes = [int(self.counts[a].sum()) for a in self.arms]
        shown_n = [mask.count(n) if mask is not None and mask.active else str(n) for n in sizes]
        ax.set_xticks(x)
        ax.set_xticklabels([f"{a}\n(n={n})" for a, n in zip(self.arms, shown_n)])
        ax.set_ylabel("Patients (%)")
        if hide.to_numpy().any():
            ax.set_xlabel(f"hidden: categories of fewer than {mask.k} patients, and one more "
                          "so that none follows from the others", fontsize=8)
        ax.legend(title="Best response", frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
        return ax


def response_table(df: pd.DataFrame, arm: str, response: str = "best_response", test: str = "yates",
                   alpha: float = 0.05) -> ResponseResult:
    """Best-response counts per arm, ORR and DCR with Clopper–Pearson CIs and P across arms.

    Parameters
    ----------
    df : DataFrame
        One row per patient.
    arm : str
        Group column.
    response : str
        Column with "CR", "PR", "SD" or "PD". Missing values count as not evaluable ("NE"):
        they stay in the denominators (intention to treat) and are reported in ``notes``.
    test : {"yates", "chi2", "fisher"}
    alpha : float

    Returns
    -------
    ResponseResult

    Notes
    -----
    R parity: ``binom.test(x, n)$conf.int`` (Clopper–Pearson) and
    ``chisq.test(table(arm, responder))`` (Yates on 2×2) or ``fisher.test``.
    """
    if test not in TESTS:
        raise ParameterError(f"test must be one of {', '.join(TESTS)}; got {test!r}.")
    if not (0 < alpha < 1):
        raise ParameterError("alpha must be between 0 and 1.")
    require_frame(df, {"group column": arm, "best response": response})
    group_codes(df, arm)  # the one wording for a missing group value
    resp = df[response].astype("object").where(df[response].notna(), None)
    bad = sorted({str(v) for v in resp.dropna() if v not in CATEGORIES})
    if bad:
        raise DataError(f"Column '{response}' must hold CR, PR, SD or PD; found {', '.join(bad)}.")
    notes = []
    cats = list(CATEGORIES)
    n_ne = int(resp.isna().sum())
    if n_ne:
        resp = resp.fillna(NOT_EVALUABLE)
        cats.append(NOT_EVALUABLE)
        notes.append(f"{n_ne} patient(s) without a response assessment are counted as not evaluable "
                     "(NE) and kept in the denominators.")
    arms = sorted(df[arm].unique(), key=str)
    if len(arms) < 2:
        notes.append(f"Only one value of '{arm}': no test across arms.")
    counts = pd.crosstab(pd.Categorical(resp, categories=cats), df[arm].to_numpy(), dropna=False)
    counts = counts.reindex(index=cats, columns=arms, fill_value=0)
    counts.index.name, counts.columns.name = response, arm
    rates, pvals = [], {}
    for measure, members in (("ORR", ("CR", "PR")), ("DCR", ("CR", "PR", "SD"))):
        yes = counts.loc[list(members)].sum(axis=0)
        tot = counts.sum(axis=0)
        for a in arms:
            lo, up = clopper_pearson(int(yes[a]), int(tot[a]), alpha)
            rates.append({"measure": measure, "arm": a, "responders": int(yes[a]), "n": int(tot[a]),
                          "rate": yes[a] / tot[a], "lower": lo, "upper": up})
        if len(arms) >= 2:
            table = np.vstack([yes.to_numpy(), (tot - yes).to_numpy()])
            if (table.sum(axis=1) == 0).any():
                pvals[measure] = float("nan")
                notes.append(f"{measure}: every patient is in the same category; no test.")
            else:
                pvals[measure] = compare_categorical(table, test)
        else:
            pvals[measure] = float("nan")
    rates = pd.DataFrame(rates).set_index(["measure", "arm"])
    return ResponseResult(counts, rates, pvals, test, alpha, arm, notes)
