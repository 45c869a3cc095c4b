# R scripts behind the frozen references of tests/test_ensemble.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- b4e7337e6a2d6d662c1d  tests/test_ensemble.py::test_multivariable_ph_test_matches_r
## inputs: x (93 rows, sha256 d9b231e4ce321d66)
suppressMessages({library(survival); library(jsonlite)})
x <- read.csv("x.csv", stringsAsFactors = FALSE)

f <- coxph(Surv(os_months, os_event) ~ tace + second_line + child_pugh + afp_gt400, data = x)
out <- list(p = unname(cox.zph(f)$table["GLOBAL", "p"]))


## ---- 2e6ef69eb407ee0659d4  tests/test_ensemble.py::test_quantities_match_r
## inputs: d (93 rows, sha256 fda54e5c96ab97ab)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

d$arm <- factor(d$arm, levels = c("TKI", "TKI-ICI"))
d$cp <- as.integer(d$child_pugh == "B7")
d$resp <- factor(ifelse(d$best_response == "PD", "PD", "DC"), levels = c("DC", "PD"))
out <- list()
for (ep in c("os", "pfs")) {
  tt <- d[[paste0(ep, "_months")]]; ee <- d[[paste0(ep, "_event")]]
  for (a in levels(d$arm)) {
    s <- summary(survfit(Surv(tt, ee) ~ 1, subset = d$arm == a), times = c(6, 12, 24))
    out[[paste(ep, "rate", a)]] <- list(time = s$time, surv = s$surv)
    fu <- survfit(Surv(tt, 1 - ee) ~ 1, subset = d$arm == a)
    if (ep == "os") out[[paste("fu", a)]] <- unname(summary(fu)$table["median"])
  }
  tau <- if (ep == "os") 24 else 6
  rm <- summary(survfit(Surv(tt, ee) ~ arm, data = d), rmean = tau)$table[, "rmean"]
  out[[paste(ep, "rmst")]] <- unname(rm[2] - rm[1])
  out[[paste(ep, "crude")]] <- unname(exp(coef(coxph(Surv(tt, ee) ~ arm, data = d))))
  out[[paste(ep, "adjusted")]] <- unname(exp(coef(coxph(
    Surv(tt, ee) ~ arm + ecog + cp + pvtt + metastases + afp_gt400 + tumor_number_gt3, data = d))[1]))
  ps <- fitted(glm(arm ~ ecog + cp + pvtt + metastases + afp_gt400 + tumor_number_gt3,
                   family = binomial, data = d))
  z <- d$arm == "TKI-ICI"
  w <- ifelse(z, mean(z) / ps, (1 - mean(z)) / (1 - ps))
  out[[paste(ep, "iptw")]] <- unname(exp(coef(coxph(Surv(tt, ee) ~ arm, data = d, weights = w,
                                                     robust = TRUE))))
  out[[paste(ep, "ph")]] <- unname(cox.zph(coxph(Surv(tt, ee) ~ arm, data = d))$table["GLOBAL", "p"])
  for (lev in 0:1) {
    out[[paste(ep, "ecog", lev)]] <- unname(exp(coef(coxph(Surv(tt, ee) ~ arm, data = d,
                                                           subset = ecog == lev))))
  }
}
l <- subset(d, os_months >= 3); l$t <- l$os_months - 3
out$landmark <- unname(exp(coef(coxph(Surv(t, os_event) ~ resp, data = l))))
out$fu_all <- unname(summary(survfit(Surv(os_months, 1 - os_event) ~ 1, data = d))$table["median"])


## ---- 4e59ed4f9319d352cc01  tests/test_ensemble.py::test_summary_quantiles_match_r
## inputs: m (11 rows, sha256 350a975a48275971)
suppressMessages({library(survival); library(jsonlite)})
m <- read.csv("m.csv", stringsAsFactors = FALSE)
out <- list(a = unname(quantile(m$OS.HR.crude, c(0.025, 0.5, 0.975), type = 7)), b = unname(quantile(m$PFS.HR.crude, c(0.025, 0.5, 0.975), type = 7, na.rm = TRUE)))
