# R scripts behind the frozen references of tests/test_cox.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- 6ec055f75604c1609be0  tests/test_cox.py::test_concordance_large_data_matches_r
## inputs: d (6000 rows, sha256 40752e827a4b392b)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- coxph(Surv(t, e) ~ x + b, data = d)
out <- list(c = unname(f$concordance['concordance']), coef = unname(coef(f)))

## ---- 2b4d5859d473c6731f67  tests/test_cox.py::test_covariate_flat_in_every_risk_set_cannot_be_estimated_as_in_r
## inputs: d (10 rows, sha256 81c6b393e2d5f637)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- coxph(Surv(t, e) ~ g + x, data = d)
out <- list(coef = unname(coef(f)))

## ---- e0c224b1ad05f5f367e4  tests/test_cox.py::test_cox_screen_counts_patients_and_events_per_model
## inputs: lung (228 rows, sha256 176cb452e9f4c143)
suppressMessages({library(survival); library(jsonlite)})
lung <- read.csv("lung.csv", stringsAsFactors = FALSE)

cands <- c('age', 'ph.ecog', 'ph.karno', 'meal.cal', 'wt.loss')
f <- lapply(cands, function(v) coxph(as.formula(paste('Surv(time, status == 2) ~', v)),
                                     data = lung))
out <- list(n = sapply(f, function(m) m$n), events = sapply(f, function(m) m$nevent))


## ---- 423ee201199b8c5049e5  tests/test_cox.py::test_cox_screen_matches_screen_done_in_r
## inputs: d (150 rows, sha256 0f00a5d4bff5005c)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

cands <- c('age_gt60', 'sex', 'ecog', 'tace', 'arm', 'child_pugh', 'afp_gt400', 'pvtt')
uni <- lapply(cands, function(v) {
  f <- coxph(as.formula(paste('Surv(os_months, os_event) ~', v)), data = d)
  s <- summary(f)
  c(s$conf.int[1, c(1, 3, 4)], s$coefficients[1, 5])
})
u <- do.call(rbind, uni)
sel <- cands[u[, 4] < 0.1]
fm <- coxph(as.formula(paste('Surv(os_months, os_event) ~', paste(sel, collapse = '+'))), data = d)
sm <- summary(fm)
out <- list(HR = unname(u[, 1]), lower = unname(u[, 2]), upper = unname(u[, 3]),
            p = unname(u[, 4]), selected = sel, mHR = unname(sm$conf.int[, 1]),
            mlower = unname(sm$conf.int[, 3]), mupper = unname(sm$conf.int[, 4]),
            mp = unname(sm$coefficients[, 5]))


## ---- 11c40121ccec34d95078  tests/test_cox.py::test_lung_matches_r_coxph_and_cox_zph[breslow]
## inputs: lung (228 rows, sha256 176cb452e9f4c143)
suppressMessages({library(survival); library(jsonlite)})
lung <- read.csv("lung.csv", stringsAsFactors = FALSE)
f <- coxph(Surv(time, status == 2) ~ age + sex + ph.ecog, data = lung, ties = 'breslow')

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])


## ---- d2522eb83c281c737e4a  tests/test_cox.py::test_lung_matches_r_coxph_and_cox_zph[efron]
## inputs: lung (228 rows, sha256 176cb452e9f4c143)
suppressMessages({library(survival); library(jsonlite)})
lung <- read.csv("lung.csv", stringsAsFactors = FALSE)
f <- coxph(Surv(time, status == 2) ~ age + sex + ph.ecog, data = lung, ties = 'efron')

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])


## ---- cc7ed57e9ee7b7adbed7  tests/test_cox.py::test_monotone_likelihood_is_what_r_flags
## inputs: d (150 rows, sha256 e958c2194d0749ec)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
w <- NULL
f <- withCallingHandlers(coxph(Surv(os_months, os_event) ~ arm, data = d), warning = function(x) {w <<- conditionMessage(x); invokeRestart('muffleWarning')})
out <- list(w = w)

## ---- b690d861fd59c7adaf2d  tests/test_cox.py::test_screen_factor_candidate_uses_multi_df_wald_p
## inputs: d (150 rows, sha256 0f00a5d4bff5005c)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- coxph(Surv(os_months, os_event) ~ etiology, data = d)
out <- list(p = unname(summary(f)$waldtest['pvalue']), w = unname(summary(f)$waldtest['test']))

## ---- e56a415b0bf597a14720  tests/test_cox.py::test_subgroup_hr_matches_r
## inputs: d (150 rows, sha256 0f00a5d4bff5005c)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

d$arm <- factor(d$arm, levels = c('TKI', 'TKI-ICI'))
subs <- c('age_gt60', 'sex', 'ecog', 'bclc', 'child_pugh')
rows <- list(); pint <- c()
for (v in subs) {
  lv <- sort(unique(d[[v]]))
  for (l in lv) {
    dd <- d[d[[v]] == l, ]
    f <- coxph(Surv(pfs_months, pfs_event) ~ arm, data = dd)
    s <- summary(f)
    rows[[length(rows) + 1]] <- c(nrow(dd), sum(dd$pfs_event), s$conf.int[1, c(1, 3, 4)],
                                  s$coefficients[1, 5])
  }
  fi <- coxph(as.formula(paste('Surv(pfs_months, pfs_event) ~ arm *', v)), data = d)
  k <- grep(':', names(coef(fi)))
  b <- coef(fi)[k]; V <- vcov(fi)[k, k, drop = FALSE]
  pint <- c(pint, pchisq(drop(t(b) %*% solve(V) %*% b), length(k), lower.tail = FALSE))
}
m <- do.call(rbind, rows)
fo <- summary(coxph(Surv(pfs_months, pfs_event) ~ arm, data = d))
out <- list(m = unname(as.data.frame(m)), pint = pint,
            overall = unname(c(fo$conf.int[1, c(1, 3, 4)], fo$coefficients[1, 5])))


## ---- 99c74c1fe44f7007715c  tests/test_cox.py::test_subgroup_three_levels_interaction_is_multi_df_wald
## inputs: d (150 rows, sha256 e2f669e7307d3ff7)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

fi <- coxph(Surv(os_months, os_event) ~ arm * grp3, data = d)
k <- grep(':', names(coef(fi)))
b <- coef(fi)[k]; V <- vcov(fi)[k, k]
out <- list(p = pchisq(drop(t(b) %*% solve(V) %*% b), length(k), lower.tail = FALSE), df = length(k))


## ---- 8d324d1f90e589376ae3  tests/test_cox.py::test_tied_times_heavy_efron_and_breslow_differ_as_in_r
## inputs: d (400 rows, sha256 507ee0175ed9bbda)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- coxph(Surv(t, e) ~ x + g, data = d, ties = 'breslow')

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])


## ---- 966505f47a673d21f401  tests/test_cox.py::test_tied_times_heavy_efron_and_breslow_differ_as_in_r
## inputs: d (400 rows, sha256 507ee0175ed9bbda)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- coxph(Surv(t, e) ~ x + g, data = d, ties = 'efron')

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])


## ---- d19c4cd00fc633bfb162  tests/test_cox.py::test_toy_cohort_matches_r[breslow]
## inputs: d (150 rows, sha256 0f00a5d4bff5005c)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = c('TKI', 'TKI-ICI'))
d$etiology <- factor(d$etiology, levels = c('HBV', 'HBV+HCV', 'HCV'))
f <- coxph(Surv(os_months, os_event) ~ arm + age + ecog + etiology + child_pugh, data = d, ties = 'breslow')

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])


## ---- 1bd004bbe28c0e8c0736  tests/test_cox.py::test_toy_cohort_matches_r[efron]
## inputs: d (150 rows, sha256 0f00a5d4bff5005c)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = c('TKI', 'TKI-ICI'))
d$etiology <- factor(d$etiology, levels = c('HBV', 'HBV+HCV', 'HCV'))
f <- coxph(Surv(os_months, os_event) ~ arm + age + ecog + etiology + child_pugh, data = d, ties = 'efron')

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])


## ---- 9deccee44b398f38da33  tests/test_cox.py::test_veteran_celltype_ph_test_is_r_score_test
## inputs: none
suppressMessages({library(survival); library(jsonlite)})
f <- coxph(Surv(time, status) ~ trt + celltype, data = veteran)

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])


## ---- 0ca784b9f6bc01dc91ee  tests/test_cox.py::test_veteran_factor_matches_r[breslow]
## inputs: none
suppressMessages({library(survival); library(jsonlite)})
f <- coxph(Surv(time, status) ~ celltype + trt + karno, data = veteran, ties = 'breslow')

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])


## ---- 4b0680d0750d8aa49c5a  tests/test_cox.py::test_veteran_factor_matches_r[efron]
## inputs: none
suppressMessages({library(survival); library(jsonlite)})
f <- coxph(Surv(time, status) ~ celltype + trt + karno, data = veteran, ties = 'efron')

s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])

