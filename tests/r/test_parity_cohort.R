# R scripts behind the frozen references of tests/test_parity_cohort.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- 41499c3f114ad0e61222  tests/test_parity_cohort.py::test_km_medians_match_R_survfit_on_the_cohort[log-os]
## inputs: design (93 rows, sha256 764512cdf4f0aa80)
suppressMessages({library(survival); library(jsonlite)})
design <- read.csv("design.csv", stringsAsFactors = FALSE)
d <- design
terms <- c("age_gt60", "sex", "ecog", "surgery", "tace", "ablation", "second_line", "tumor_number_gt3", "tumor_size_gt5", "pvtt", "metastases", "child_pugh", "bclc", "afp_gt400")
multi_os <- c("tace", "second_line", "child_pugh", "afp_gt400")
multi_pfs <- c("ecog", "second_line")
table1 <- c("t1_sex", "t1_ecog", "t1_etiology", "t1_surgery", "t1_tace", "t1_ablation", "t1_tumor_number_gt3", "t1_tumor_size_gt5", "t1_pvtt", "t1_metastases", "t1_child_pugh", "t1_bclc", "t1_afp_gt400")

out <- list(km = list(), lr = list(), cox = list(), zph = list(), chisq = list())
for (ep in c("os", "pfs")) {
  f <- as.formula(paste0("Surv(", ep, "_months, ", ep, "_event) ~ arm"))
  for (ct in c("log", "log-log", "plain")) {
    s <- summary(survfit(f, data = d, conf.type = ct))$table
    out$km[[paste(ep, ct)]] <- list(median = unname(s[, "median"]), lower = unname(s[, "0.95LCL"]),
                                    upper = unname(s[, "0.95UCL"]))
  }
  out$lr[[ep]] <- survdiff(f, data = d)$chisq
  for (ties in c("efron", "breslow")) {
    for (term in terms) {
      fit <- coxph(as.formula(paste0("Surv(", ep, "_months, ", ep, "_event) ~ ", term)),
                   data = d, ties = ties)
      s <- summary(fit)
      out$cox[[paste(ep, ties, term)]] <- list(HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
                                               upper = unname(s$conf.int[, 4]), p = unname(s$coefficients[, 5]))
    }
    sel <- if (ep == "os") multi_os else multi_pfs
    fit <- coxph(as.formula(paste0("Surv(", ep, "_months, ", ep, "_event) ~ ", paste(sel, collapse = "+"))),
                 data = d, ties = ties)
    s <- summary(fit)
    out$cox[[paste(ep, ties, "multi")]] <- list(HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
                                                upper = unname(s$conf.int[, 4]), p = unname(s$coefficients[, 5]))
    if (ties == "efron") {
      z <- cox.zph(fit, transform = "km")$table
      out$zph[[ep]] <- list(p = unname(z[, "p"]))
    }
  }
}
rev <- survfit(Surv(os_months, 1 - os_event) ~ 1, data = d)
out$followup <- unname(summary(rev)$table["median"])
for (v in table1) out$chisq[[v]] <- suppressWarnings(chisq.test(table(d[[v]], d$arm))$p.value)

