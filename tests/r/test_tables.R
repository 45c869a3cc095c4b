# R scripts behind the frozen references of tests/test_tables.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- 69394d23c22a56901b65  tests/test_tables.py::test_compare_categorical_matches_R_chisq_and_fisher
## inputs: none
suppressMessages({library(survival); library(jsonlite)})
mats <- list(matrix(c(30, 7, 49, 7), nrow = 2), matrix(c(35, 2, 54, 2), nrow = 2), matrix(c(3, 34, 12, 44), nrow = 2), matrix(c(0, 10, 5, 3), nrow = 2), matrix(c(34, 2, 1, 51, 2, 3), nrow = 3), matrix(c(1, 2, 2, 10, 14, 35, 20, 9), nrow = 2), matrix(c(3, 2, 5, 1, 6, 2, 4, 1, 3), nrow = 3), matrix(c(12, 3, 4, 0, 15, 34, 25, 1), nrow = 2), matrix(c(0, 4, 2, 1, 7, 0, 2, 6), nrow = 4))
out <- lapply(mats, function(m) list(
  yates = suppressWarnings(chisq.test(m)$p.value),
  chi2 = suppressWarnings(chisq.test(m, correct = FALSE)$p.value),
  fisher = fisher.test(m)$p.value))

## ---- 936b4abd59f61f89cb1d  tests/test_tables.py::test_quantile_type7_matches_R
## inputs: x0 (37 rows, sha256 3c3c8b624ae97b50), x1 (10 rows, sha256 106f35814c780450), x2 (1 rows, sha256 6ad74309ca3c089e), x3 (2 rows, sha256 ae24e293f9f4d27c), x4 (56 rows, sha256 91dd338a971bf60c)
suppressMessages({library(survival); library(jsonlite)})
x0 <- read.csv("x0.csv", stringsAsFactors = FALSE)
x1 <- read.csv("x1.csv", stringsAsFactors = FALSE)
x2 <- read.csv("x2.csv", stringsAsFactors = FALSE)
x3 <- read.csv("x3.csv", stringsAsFactors = FALSE)
x4 <- read.csv("x4.csv", stringsAsFactors = FALSE)
out <- list(unname(quantile(x0$v, c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1), type = 7)), unname(quantile(x1$v, c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1), type = 7)), unname(quantile(x2$v, c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1), type = 7)), unname(quantile(x3$v, c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1), type = 7)), unname(quantile(x4$v, c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1), type = 7)))

## ---- 8470378a81d6cdc4c41c  tests/test_tables.py::test_table_one_fisher_matches_R_including_3x2
## inputs: d (93 rows, sha256 24598e9e34db7c58)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
out <- list(etiology = fisher.test(table(d$etiology, d$arm))$p.value, sex = fisher.test(table(d$sex, d$arm))$p.value)

## ---- bb6a98ff247ce0942386  tests/test_tables.py::test_table_one_p_values_match_R_on_toy_cohort
## inputs: d (150 rows, sha256 a065b76c091b30d1)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
d$child_pugh[d$child_pugh == ''] <- NA
out <- list(regimen = suppressWarnings(chisq.test(table(d$regimen, d$arm))$p.value), sex = suppressWarnings(chisq.test(table(d$sex, d$arm))$p.value), ecog = suppressWarnings(chisq.test(table(d$ecog, d$arm))$p.value), etiology = suppressWarnings(chisq.test(table(d$etiology, d$arm))$p.value), tace = suppressWarnings(chisq.test(table(d$tace, d$arm))$p.value), child_pugh = suppressWarnings(chisq.test(table(d$child_pugh, d$arm))$p.value), bclc = suppressWarnings(chisq.test(table(d$bclc, d$arm))$p.value), age = kruskal.test(age ~ factor(arm), data = d)$p.value, os_months = oneway.test(os_months ~ factor(arm), data = d, var.equal = TRUE)$p.value, q = unname(quantile(d$age[d$arm == 'TKI'], c(.25, .5, .75))))
