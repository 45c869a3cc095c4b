# R scripts behind the frozen references of tests/test_response.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- aede175d45db7fed458c  tests/test_response.py::test_clopper_pearson_and_p_match_R[chi2]
## inputs: d (93 rows, sha256 ec504d2446b01ddd)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

d$orr <- d$best_response %in% c('CR', 'PR'); d$dcr <- d$best_response %in% c('CR', 'PR', 'SD')
out <- list()
for (v in c('orr', 'dcr')) {
  m <- table(d[[v]], d$arm)
  ci <- lapply(c('TKI', 'TKI-ICI'), function(a) binom.test(sum(d[[v]][d$arm == a]), sum(d$arm == a), conf.level = 0.9)$conf.int)
  out[[v]] <- list(p = suppressWarnings(chisq.test(m, correct = FALSE))$p.value, ci = ci)
}

## ---- 8bb4bb6d53d87d5f4afb  tests/test_response.py::test_clopper_pearson_and_p_match_R[fisher]
## inputs: d (93 rows, sha256 ec504d2446b01ddd)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

d$orr <- d$best_response %in% c('CR', 'PR'); d$dcr <- d$best_response %in% c('CR', 'PR', 'SD')
out <- list()
for (v in c('orr', 'dcr')) {
  m <- table(d[[v]], d$arm)
  ci <- lapply(c('TKI', 'TKI-ICI'), function(a) binom.test(sum(d[[v]][d$arm == a]), sum(d$arm == a), conf.level = 0.9)$conf.int)
  out[[v]] <- list(p = suppressWarnings(fisher.test(m))$p.value, ci = ci)
}

## ---- 0cea947f3b96abd1c9b7  tests/test_response.py::test_clopper_pearson_and_p_match_R[yates]
## inputs: d (93 rows, sha256 ec504d2446b01ddd)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

d$orr <- d$best_response %in% c('CR', 'PR'); d$dcr <- d$best_response %in% c('CR', 'PR', 'SD')
out <- list()
for (v in c('orr', 'dcr')) {
  m <- table(d[[v]], d$arm)
  ci <- lapply(c('TKI', 'TKI-ICI'), function(a) binom.test(sum(d[[v]][d$arm == a]), sum(d$arm == a), conf.level = 0.9)$conf.int)
  out[[v]] <- list(p = suppressWarnings(chisq.test(m))$p.value, ci = ci)
}
