# R scripts behind the frozen references of tests/test_restricted_mean.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- e95ead231bbb75a47780  tests/test_restricted_mean.py::test_rmst_matches_r_on_lung[365.0]
## inputs: d (228 rows, sha256 1f9cf65e5058b22a)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
tau <- 365.0

f <- survfit(Surv(t, e) ~ g, data = d)
tb <- summary(f, rmean = tau)$table
out <- list(rmean = unname(tb[, "rmean"]), se = unname(tb[, "se(rmean)"]), strata = rownames(tb))
f1 <- survfit(Surv(t, e) ~ 1, data = d)
t1 <- summary(f1, rmean = tau)$table
out$rmean1 <- unname(t1["rmean"]); out$se1 <- unname(t1["se(rmean)"])


## ---- 1bf452f1faf40abcadd4  tests/test_restricted_mean.py::test_rmst_matches_r_on_lung[600.0]
## inputs: d (228 rows, sha256 1f9cf65e5058b22a)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
tau <- 600.0

f <- survfit(Surv(t, e) ~ g, data = d)
tb <- summary(f, rmean = tau)$table
out <- list(rmean = unname(tb[, "rmean"]), se = unname(tb[, "se(rmean)"]), strata = rownames(tb))
f1 <- survfit(Surv(t, e) ~ 1, data = d)
t1 <- summary(f1, rmean = tau)$table
out$rmean1 <- unname(t1["rmean"]); out$se1 <- unname(t1["se(rmean)"])


## ---- 822409a0f513e4a0c17b  tests/test_restricted_mean.py::test_rmst_matches_r_on_lung[750.5]
## inputs: d (228 rows, sha256 1f9cf65e5058b22a)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
tau <- 750.5

f <- survfit(Surv(t, e) ~ g, data = d)
tb <- summary(f, rmean = tau)$table
out <- list(rmean = unname(tb[, "rmean"]), se = unname(tb[, "se(rmean)"]), strata = rownames(tb))
f1 <- survfit(Surv(t, e) ~ 1, data = d)
t1 <- summary(f1, rmean = tau)$table
out$rmean1 <- unname(t1["rmean"]); out$se1 <- unname(t1["se(rmean)"])


## ---- 50607583fa5aa0f985f0  tests/test_restricted_mean.py::test_rmst_matches_r_on_the_cohort[os-24.0]
## inputs: d (93 rows, sha256 2c0616317384cac4)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
tau <- 24.0

f <- survfit(Surv(t, e) ~ g, data = d)
tb <- summary(f, rmean = tau)$table
out <- list(rmean = unname(tb[, "rmean"]), se = unname(tb[, "se(rmean)"]), strata = rownames(tb))
f1 <- survfit(Surv(t, e) ~ 1, data = d)
t1 <- summary(f1, rmean = tau)$table
out$rmean1 <- unname(t1["rmean"]); out$se1 <- unname(t1["se(rmean)"])


## ---- 95ed27d939e534ab52f3  tests/test_restricted_mean.py::test_rmst_matches_r_on_the_cohort[pfs-9.0]
## inputs: d (93 rows, sha256 f299bb8c820a16c6)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
tau <- 9.0

f <- survfit(Surv(t, e) ~ g, data = d)
tb <- summary(f, rmean = tau)$table
out <- list(rmean = unname(tb[, "rmean"]), se = unname(tb[, "se(rmean)"]), strata = rownames(tb))
f1 <- survfit(Surv(t, e) ~ 1, data = d)
t1 <- summary(f1, rmean = tau)$table
out$rmean1 <- unname(t1["rmean"]); out$se1 <- unname(t1["se(rmean)"])

