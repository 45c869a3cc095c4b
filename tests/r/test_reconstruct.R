# R scripts behind the frozen references of tests/test_reconstruct.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- d563f4d44dd20f17e523  tests/test_reconstruct.py::test_adverse_event_terms_do_not_differ_between_arms
## inputs: d (2139 rows, sha256 53f3ac74d0dc234c)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

    out <- list()
    for (t in unique(d$term)) {
      s <- d[d$term == t, ]
      tab <- table(factor(s$has, levels = 0:1), factor(s$arm))
      out[[t]] <- suppressWarnings(chisq.test(tab, correct = TRUE)$p.value)
    }
    

## ---- 5cb25d3dcfd0da6760a1  tests/test_reconstruct.py::test_fast_numerics_equal_r
## inputs: cohort (93 rows, sha256 fda54e5c96ab97ab)
suppressMessages({library(survival); library(jsonlite)})
cohort <- read.csv("cohort.csv", stringsAsFactors = FALSE)

d <- cohort
d$age_gt60 <- as.integer(d$age > 60)
d$sex <- as.integer(d$sex == "Male")
d$second_line <- as.integer(d$arm == "TKI-ICI")
d$child_pugh <- as.integer(d$child_pugh == "B7")
d$bclc <- as.integer(d$bclc == "C")
terms <- strsplit("age_gt60,sex,ecog,surgery,tace,ablation,second_line,tumor_number_gt3,tumor_size_gt5,pvtt,metastases,child_pugh,bclc,afp_gt400", ",")[[1]]
fit1 <- function(f) { s <- summary(f)$coefficients; list(coef = unname(s[, 1]), se = unname(s[, 3])) }
out <- list()
for (ep in c("os", "pfs")) {
  tt <- d[[paste0(ep, "_months")]] * 30; ee <- d[[paste0(ep, "_event")]]
  for (v in terms) out[[paste(ep, "uni", v)]] <- fit1(coxph(Surv(tt, ee) ~ d[[v]], ties = "efron"))
  mv <- strsplit(if (ep == "os") "tace,second_line,child_pugh,afp_gt400" else "ecog,second_line", ",")[[1]]
  out[[paste(ep, "multi")]] <- fit1(coxph(as.formula(paste("Surv(tt, ee) ~", paste(mv, collapse = "+"))), data = d, ties = "efron"))
  km <- survfit(Surv(tt, ee) ~ arm, data = d, conf.type = "log")
  tab <- summary(km)$table
  out[[paste(ep, "km")]] <- list(median = unname(tab[, "median"]), lower = unname(tab[, "0.95LCL"]), upper = unname(tab[, "0.95UCL"]))
  out[[paste(ep, "lr")]] <- survdiff(Surv(tt, ee) ~ arm, data = d)$chisq
}
b <- d[d$bclc == 0, ]
out$sub <- fit1(coxph(Surv(pfs_months * 30, pfs_event) ~ second_line, data = b, ties = "efron"))
rk <- survfit(Surv(os_months * 30, 1 - os_event) ~ 1, data = d)
out$fu <- unname(summary(rk)$table["median"])


## ---- 378fd224a1b15c24ed9e  tests/test_reconstruct.py::test_km_median_rule_matches_r_on_edge_cases
## inputs: d (28 rows, sha256 7cc09366eb4e649b)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

    out <- list()
    for (nm in unique(d$case)) {
      s <- d[d$case == nm, ]
      q <- quantile(survfit(Surv(t, e) ~ 1, data = s, conf.type = "log"), 0.5)
      out[[nm]] <- unname(c(q$quantile, q$lower, q$upper))
    }
    

## ---- 7a4f0675a50f942bc593  tests/test_reconstruct.py::test_table1_pvalues_and_age_with_r
## inputs: cohort (93 rows, sha256 fda54e5c96ab97ab)
suppressMessages({library(survival); library(jsonlite)})
cohort <- read.csv("cohort.csv", stringsAsFactors = FALSE)

    out <- list()
    for (v in strsplit("sex,ecog,etiology,surgery,tace,ablation,tumor_number_gt3,tumor_size_gt5,pvtt,metastases,child_pugh,bclc,afp_gt400", ",")[[1]]) {
      out[[v]] <- suppressWarnings(chisq.test(table(cohort[[v]], cohort$arm))$p.value)
    }
    out$age <- kruskal.test(age ~ factor(arm), data = cohort)$p.value
    q <- function(x) as.numeric(quantile(x, c(.5, .25, .75), type = 7))
    out$q_overall <- q(cohort$age)
    out$q_TKI <- q(cohort$age[cohort$arm == "TKI"])
    out$q_ICI <- q(cohort$age[cohort$arm == "TKI-ICI"])
    
