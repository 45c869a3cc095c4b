# R scripts behind the frozen references of tests/test_safety.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- 4bef9e31c8adfa67faf1  tests/test_safety.py::test_per_term_counts_once_per_patient_and_p_matches_R
## inputs: d (93 rows, sha256 eea2d50d0da05008), pts (22 rows, sha256 6139cb7956a49e31)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
pts <- read.csv("pts.csv", stringsAsFactors = FALSE)
d$has <- d$patient_id %in% pts$id; out <- list(n = as.vector(table(factor(d$arm[d$has], levels = c('TKI', 'TKI-ICI')))), p = suppressWarnings(chisq.test(table(d$has, d$arm))$p.value))
