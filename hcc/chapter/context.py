"""The one call a chapter's first code cell makes: ``ctx = hcc.chapter.setup(globals())``.

:func:`setup` reads the injected parameters, loads the cohort (a seed's cohort is asked of
:mod:`hcc.reconstruct` through :mod:`hcc.pipeline.inputs`), reads the pipeline's masking
decision (:func:`hcc.pipeline.privacy.decide`) and returns a :class:`Chapter` with what the
chapter needs.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from hcc.chapter.display import TABLES_DIR, compare_with_paper, synthetic_banner
from hcc.chapter.suppress import _check_threshold

# --------------------------------------------------------------------------- chapter setup
#: The notebook parameters :func:`setup` reads (``synthetic`` is injected by ``hcc build``).
SETUP_PARAMETERS = ("data", "adverse_events", "seed", "suppress_below", "alpha", "synthetic")


def _denominators(cohort: pd.DataFrame) -> dict:
    """The group sizes a page states: the cohort and each arm."""
    sizes = {"Overall": len(cohort)}
    if "arm" in cohort.columns:
        sizes.update({str(a): int(n) for a, n in cohort["arm"].value_counts().items()})
    return sizes


def _parents(cohort: pd.DataFrame) -> dict:
    """Subgroups nested in an arm, as the page's tables may print them: regimen → arm."""
    if not {"regimen", "arm"} <= set(cohort.columns):
        return {}
    pairs = cohort[["regimen", "arm"]].dropna().drop_duplicates()
    return {str(r): str(a) for r, a in zip(pairs["regimen"], pairs["arm"])}


class Chapter:
    """What a chapter needs, made by :func:`setup`.

    Attributes
    ----------
    cohort : DataFrame
        The cohort (shipped, a seed's reconstruction, or the user's file).
    ae : DataFrame or None
        The adverse events (read on first use; None when a user's cohort has none).
    decision : hcc.pipeline.privacy.Decision
        What is synthetic and what is masked: injected by ``hcc build``, read here.
    mask : hcc.pipeline.privacy.Mask
        Pass it to every display helper: ``show_table(result, "name", mask=mask)``.
    synthetic : bool
    banner : IPython.display.HTML
        The admonition at the top of the page.
    tables : Path
        Folder of the CSV downloads (``tables/``, created).
    ci : str
        ``"95% CI"`` for the chapter's alpha.
    """

    def __init__(self, params: dict, decision, cohort: pd.DataFrame, tables: Path):
        self.params = params
        self.decision = decision
        self.synthetic = decision.synthetic
        self.mask = decision.mask.for_page(_denominators(cohort), _parents(cohort))  # one ledger per page
        self.cohort = cohort
        self.tables = tables
        self.ci = f"{100 * (1 - float(params.get('alpha') or 0.05)):g}% CI"
        self._ae = None
        self._ae_loaded = False
        self.banner = synthetic_banner(decision.synthetic, n_patients=len(cohort),
                                       suppress_below=decision.suppress_below,
                                       own_cohort="data" in decision.user_inputs
                                       or "adverse_events" not in decision.user_inputs)

    def _folder(self):
        """Folder of a synthetic cohort's files (shipped or a seed's), else None."""
        from hcc import paths
        from hcc.cohort.shipped import is_default_seed
        from hcc.pipeline.inputs import reconstructed

        if self.params.get("data") is not None:
            return None
        seed = self.params.get("seed")
        return paths.DATA_DIR if is_default_seed(seed) else reconstructed(int(seed))

    @property
    def data_file(self):
        """The file the cohort came from, with dates where there are any: the user's file,
        or the synthetic cohort's raw export (``cohort_raw.csv``)."""
        folder = self._folder()
        return self.params.get("data") if folder is None else folder / "cohort_raw.csv"

    @property
    def manifest(self) -> dict | None:
        """The generator's manifest of a synthetic cohort (seed, data cut-off, fidelity);
        None for a user's file."""
        import json

        folder = self._folder()
        return None if folder is None else json.loads((folder / "manifest.json").read_text())

    @property
    def ae(self):
        if not self._ae_loaded:
            from hcc.pipeline.inputs import get_adverse_events

            p = self.params
            self._ae = get_adverse_events(data=p.get("data"), seed=p.get("seed"),
                                          path=p.get("adverse_events"))
            self._ae_loaded = True
        return self._ae


    def vs_paper(self, section: str, kind: str | tuple = "") -> pd.DataFrame:
        """The paper's numbers of one section of :func:`hcc.fidelity_report` (its one tolerance
        rule) beside this cohort's (:func:`compare_with_paper`); only the rows whose kind
        starts with *kind* ("count", ("p", "age")) if given."""
        from hcc.fidelity import fidelity_report

        rows = fidelity_report(self.cohort, self.ae if section == "Safety" else None,
                               sections=(section,)).summary
        return compare_with_paper(rows[rows["kind"].str.startswith(kind)])


def setup(params, *, tables=TABLES_DIR, style: bool = True) -> Chapter:
    """The one call a chapter's setup cell makes: ``ctx = hcc.chapter.setup(globals())``.

    Parameters
    ----------
    params : mapping
        The notebook's namespace (or any mapping) holding the parameters
        :data:`SETUP_PARAMETERS`; other names are ignored. ``synthetic`` is the pipeline's
        decision (:func:`hcc.pipeline.privacy.decide`, injected by ``hcc build``) and is only read.
        When it is absent (a notebook executed outside ``hcc build``) the same
        :func:`hcc.pipeline.privacy.decide` is asked here.
    tables : path
        Folder of the CSV downloads (created).
    style : bool
        Set the book's matplotlib and pandas display options.

    Returns
    -------
    Chapter

    Notes
    -----
    The chapter's mask carries the page's ledger (:class:`hcc.pipeline.privacy.Page`: the cohort's
    and arms' sizes, regimen → arm, what the page's tables hid) and becomes the active mask
    (:func:`hcc.pipeline.privacy.activate`), so a helper called without ``mask=`` applies it. A
    masked chapter (with *style*) embeds its figures as SVG whose text stays text.
    """
    from hcc.pipeline.inputs import get_cohort  # a seed's cohort: asked of hcc.reconstruct
    from hcc.pipeline.privacy import Decision, activate, decide

    p = {name: params.get(name) for name in SETUP_PARAMETERS}
    k = _check_threshold(p["suppress_below"] or 0)
    if p["synthetic"] is None:
        decision = decide(p["data"], p["adverse_events"], p["seed"], k)
    else:  # the pipeline decided; which files were the user's only words the banner
        given = tuple(n for n in ("data", "adverse_events") if p[n] is not None)
        decision = Decision(synthetic=bool(p["synthetic"]), suppress_below=k,
                            user_inputs=() if p["synthetic"] else given)
    if style:
        import matplotlib.pyplot as plt

        plt.rcParams.update({"figure.dpi": 110, "axes.spines.top": False,
                             "axes.spines.right": False})
        pd.set_option("display.precision", 4)
        pd.set_option("display.max_colwidth", None)  # full text in every table (display.full_text)
    folder = Path(tables)
    folder.mkdir(parents=True, exist_ok=True)
    cohort = get_cohort(data=p["data"], seed=p["seed"])
    chapter = Chapter(p, decision, cohort, folder)
    activate(chapter.mask if chapter.mask.active or chapter.mask.hide_rows else None)
    if style and chapter.mask.active:
        _figures_as_text()
    return chapter


def _figures_as_text() -> None:
    """Masked pages embed their figures as SVG with real text elements (not glyph paths), so
    that every number a figure prints can be read back (and checked) from the page."""
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")
    except Exception:  # noqa: BLE001 - outside a kernel there is no inline backend
        pass

