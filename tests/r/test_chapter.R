# R scripts behind the frozen references of tests/test_chapter.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- fce950e77500d6059a66  tests/test_chapter.py::test_rows_used_agrees_with_r_coxph
## inputs: d (40 rows, sha256 5372421d2f27545b)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- coxph(Surv(os_months, os_event) ~ ecog + afp_gt400, data = d)
out <- list(n = f$n, dropped = length(f$na.action))
