"""The data: the dictionary, reading and validating a file, the one raw → analysis rule,
loading a cohort — and whether a file is our synthetic reconstruction.

``dictionary`` (the columns and labels) → ``read`` (a file's cells as text; encodings,
delimiters, xlsx, parquet; the mapping file) → ``validate`` (every problem at once) →
``derive`` (dates → months) → ``load`` (the typed analysis frame); ``shipped`` (is a file
ours: the generator's manifest); ``missing`` (missing values per column).

Never imports :mod:`hcc.reconstruct` (loading a cohort never imports the calibrator): a
seed's cohort is asked of the reconstruction by :mod:`hcc.pipeline.inputs`. Importing this
package imports nothing (each module is imported on its own).
"""
