"""What a chapter (notebook) calls: ``ctx = hcc.chapter.setup(globals())`` first, then the
display helpers with ``mask=ctx.mask``.

``context`` (:func:`setup`, :class:`Chapter`: the data, the injected parameters, the
pipeline's masking decision) · ``display`` (tables and their CSV downloads, the banner, the
paper beside ours, Kaplan–Meier and forest figures) · ``suppress`` (small-cell and
complementary suppression) · ``rows`` (the "used N of M patients" statements).
"""
from hcc.chapter.context import SETUP_PARAMETERS, Chapter, setup
from hcc.chapter.display import (TABLES_DIR, compare_with_paper, format_number, full_text,
                                 masking_summary, plot_forest, plot_km, save_table, show_table,
                                 synthetic_banner, table_display)
from hcc.chapter.rows import (RowsUsed, rows_used, rows_used_table, screen_rows_used,
                              table_one_rows_used)
from hcc.chapter.suppress import (COMPLEMENTARY_MARK, MaskedTable, suppress_small_counts,
                                  suppression_active)

__all__ = ["setup", "Chapter", "SETUP_PARAMETERS", "synthetic_banner", "show_table", "save_table",
           "suppress_small_counts", "masking_summary", "suppression_active", "table_display",
           "compare_with_paper", "format_number", "full_text", "plot_km", "plot_forest", "MaskedTable",
           "COMPLEMENTARY_MARK", "TABLES_DIR", "RowsUsed", "rows_used", "rows_used_table",
           "table_one_rows_used", "screen_rows_used"]
