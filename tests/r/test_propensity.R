# R scripts behind the frozen references of tests/test_propensity.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- 8215d9dc397bb53cb8d4  tests/test_propensity.py::test_lifelines_robust_differs_from_r_with_tied_times
## inputs: d (227 rows, sha256 a0d9b2cd97bb20db)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

f <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, weights = w, robust = TRUE)
out <- list(se = unname(sqrt(diag(f$var))))


## ---- 25ab9d064325a990af59  tests/test_propensity.py::test_propensity_weights_and_weighted_cox_match_r_on_the_cohort
## inputs: d (93 rows, sha256 c7620681fdf80c71)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
covs <- c('ecog', 'child_pugh', 'pvtt', 'metastases', 'afp_gt400', 'tumor_number_gt3')

d$treated <- as.integer(d$arm == "TKI-ICI")
m <- glm(as.formula(paste("treated ~", paste(covs, collapse = "+"))), family = binomial, data = d)
ps <- unname(fitted(m))
p1 <- mean(d$treated)
d$w <- ifelse(d$treated == 1, p1 / ps, (1 - p1) / (1 - ps))
f <- coxph(Surv(os_months, os_event) ~ treated, data = d, weights = w, robust = TRUE)
f2 <- coxph(Surv(pfs_months, pfs_event) ~ treated, data = d, weights = w, robust = TRUE)
km <- survfit(Surv(os_months, os_event) ~ arm, data = d, weights = w)
out <- list(ps = ps, coef = unname(coef(m)), w = d$w,
            cox = unname(coef(f)), se = unname(sqrt(diag(f$var))), naive = unname(sqrt(diag(f$naive.var))),
            cox_pfs = unname(coef(f2)), se_pfs = unname(sqrt(diag(f2$var))),
            km_time = km$time, km_surv = km$surv, km_strata = unname(km$strata))


## ---- ddf601f894d12e945fb2  tests/test_propensity.py::test_weighted_robust_cox_matches_r_on_lung
## inputs: d (227 rows, sha256 a0d9b2cd97bb20db)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

f <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, weights = w, robust = TRUE)
g <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, robust = TRUE)
b <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, robust = TRUE, ties = "breslow")
out <- list(coef = unname(coef(f)), se = unname(sqrt(diag(f$var))), loglik = f$loglik,
            p = unname(summary(f)$coefficients[, 6]),
            coef_u = unname(coef(g)), se_u = unname(sqrt(diag(g$var))),
            se_b = unname(sqrt(diag(b$var))))

