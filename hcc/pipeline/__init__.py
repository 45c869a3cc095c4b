"""``hcc build``: parameters, the one privacy decision, papermill workers, the run log and
the Jupyter Book site.

``run`` (:func:`hcc.pipeline.run.run_build`, the order of the stages) · ``params``
(notebook parameters) · ``inputs`` (the cohort and adverse-event files a build runs on; a
seed's cohort asked of :mod:`hcc.reconstruct`) · ``privacy`` (what is synthetic, what is
masked, what is redacted) · ``project`` (where a book lives, the notebooks in ``_toc.yml``
order) · ``stamps`` (the skip decision) · ``workers`` (one papermill process per notebook)
· ``runlog`` (the run log the reproducibility page reads) · ``site`` (Sphinx stage, atomic
swap, ``hcc serve``, the Sphinx extension). Importing this package imports nothing.
"""
