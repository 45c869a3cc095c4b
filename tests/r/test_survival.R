# R scripts behind the frozen references of tests/test_survival.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- 774e1bdc0335df308dc8  tests/test_survival.py::test_km_lung_sex_matches_R_survfit[log]
## inputs: d (228 rows, sha256 0551e54a5c5c3b38)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('1', '2'); ticks <- c(0.0, 180.0, 365.0, 730.0, 1000.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- 9887a69598cd3c969cce  tests/test_survival.py::test_km_lung_sex_matches_R_survfit[log]
## inputs: none
suppressMessages({library(survival); library(jsonlite)})
d <- lung; out <- list(cols = names(d), rows = lapply(seq_len(ncol(d)), function(j) d[[j]]))

## ---- c7a36a6f612b6ae589ca  tests/test_survival.py::test_km_median_edge_cases_match_R[log-case0]
## inputs: d (6 rows, sha256 40f9698beb5b5946)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('a'); ticks <- c(0.0, 2.0, 4.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- 594e3b1d3f6b7f3e739b  tests/test_survival.py::test_km_median_edge_cases_match_R[log-case1]
## inputs: d (4 rows, sha256 f489c999ce664d8f)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('a'); ticks <- c(0.0, 2.0, 4.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- 0e305e49abfe4568ab56  tests/test_survival.py::test_km_median_edge_cases_match_R[log-case2]
## inputs: d (6 rows, sha256 03f580a645c402e0)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('a'); ticks <- c(0.0, 2.0, 4.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- 4c538b699cb2ec1495c1  tests/test_survival.py::test_km_median_edge_cases_match_R[log-case3]
## inputs: d (3 rows, sha256 1a6c498ef946e65e)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('a'); ticks <- c(0.0, 2.0, 4.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- 095f449e06d7fd4cb812  tests/test_survival.py::test_km_toy_cohort_months_matches_R_survfit[log-1]
## inputs: d (150 rows, sha256 ef18bdb3f146ca9d)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('TKI', 'TKI-ICI'); ticks <- c(0.0, 3.0, 6.0, 12.0, 18.0, 24.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- 3d5bd1f0f36100169913  tests/test_survival.py::test_km_toy_cohort_months_matches_R_survfit[log-2]
## inputs: d (150 rows, sha256 ee5539ba1b7331c4)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('TKI', 'TKI-ICI'); ticks <- c(0.0, 3.0, 6.0, 12.0, 18.0, 24.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- 016588f840de1d725e85  tests/test_survival.py::test_km_toy_cohort_months_matches_R_survfit[log-3]
## inputs: d (150 rows, sha256 78964cb5b4b202a3)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('TKI', 'TKI-ICI'); ticks <- c(0.0, 3.0, 6.0, 12.0, 18.0, 24.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- 90961d57dea4ba11aadd  tests/test_survival.py::test_km_veteran_celltype_matches_R_survfit[log]
## inputs: d (137 rows, sha256 0b69da2f9ce26e88)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('adeno', 'large', 'smallcell', 'squamous'); ticks <- c(0.0, 100.0, 200.0, 300.0, 400.0, 500.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- c8fa3d4416fc8b2fe512  tests/test_survival.py::test_km_veteran_celltype_matches_R_survfit[log]
## inputs: none
suppressMessages({library(survival); library(jsonlite)})
d <- veteran; out <- list(cols = names(d), rows = lapply(seq_len(ncol(d)), function(j) d[[j]]))

## ---- 0ce74957fdae77b957eb  tests/test_survival.py::test_km_veteran_trt_matches_R_survfit[log]
## inputs: d (137 rows, sha256 9107169eace3206b)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
levs <- c('1', '2'); ticks <- c(0.0, 30.0, 60.0, 90.0, 365.0);

d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}


## ---- ab36991d247e0693361f  tests/test_survival.py::test_km_without_group_matches_R
## inputs: d (228 rows, sha256 2b8de99fb403e352)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- survfit(Surv(time, event) ~ 1, data = d); t <- summary(f)$table; out <- list(m = t[['median']], l = t[['0.95LCL']], u = t[['0.95UCL']])

## ---- 8e9ce73d8847d0eac299  tests/test_survival.py::test_logrank_matches_R_survdiff[lung-time-event-ph.ecog]
## inputs: d (227 rows, sha256 d63c167e1594833f)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
s <- survdiff(Surv(time, ev) ~ g, data = d); out <- list(chisq = s$chisq, df = length(s$n) - 1, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE), obs = s$obs, exp = s$exp, n = as.vector(s$n))

## ---- 717a329353d52cbd738f  tests/test_survival.py::test_logrank_matches_R_survdiff[lung-time-event-sex]
## inputs: d (228 rows, sha256 0551e54a5c5c3b38)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
s <- survdiff(Surv(time, ev) ~ g, data = d); out <- list(chisq = s$chisq, df = length(s$n) - 1, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE), obs = s$obs, exp = s$exp, n = as.vector(s$n))

## ---- 8eab17d07e31351eea9f  tests/test_survival.py::test_logrank_matches_R_survdiff[veteran-time-status-celltype]
## inputs: d (137 rows, sha256 0b69da2f9ce26e88)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
s <- survdiff(Surv(time, ev) ~ g, data = d); out <- list(chisq = s$chisq, df = length(s$n) - 1, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE), obs = s$obs, exp = s$exp, n = as.vector(s$n))

## ---- 251a469bc505e2604912  tests/test_survival.py::test_logrank_matches_R_survdiff[veteran-time-status-trt]
## inputs: d (137 rows, sha256 9107169eace3206b)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
s <- survdiff(Surv(time, ev) ~ g, data = d); out <- list(chisq = s$chisq, df = length(s$n) - 1, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE), obs = s$obs, exp = s$exp, n = as.vector(s$n))

## ---- b0107eefc5d4dd404079  tests/test_survival.py::test_logrank_toy_cohort_matches_R_survdiff[4]
## inputs: d (200 rows, sha256 6b5b3624201983d5)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
s <- survdiff(Surv(os_months, os_event) ~ regimen, data = d); out <- list(chisq = s$chisq, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE))

## ---- 8ab1afef9f5d2534bcb5  tests/test_survival.py::test_logrank_toy_cohort_matches_R_survdiff[5]
## inputs: d (200 rows, sha256 8e7d7d6620accb5d)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
s <- survdiff(Surv(os_months, os_event) ~ regimen, data = d); out <- list(chisq = s$chisq, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE))

## ---- bdd31382c20f62442265  tests/test_survival.py::test_observed_followup_matches_R_median
## inputs: d (228 rows, sha256 f8d9283e172ba4b8)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
out <- list(m = median(d$time))

## ---- 6a932985da2a200270c8  tests/test_survival.py::test_reverse_km_followup_matches_R[log-log]
## inputs: d (228 rows, sha256 2b8de99fb403e352)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = 'log-log'); t <- summary(f)$table; out <- list(m = t[['median']], l = t[['0.95LCL']], u = t[['0.95UCL']])

## ---- 116f05473dc1efd6297b  tests/test_survival.py::test_reverse_km_followup_matches_R[log]
## inputs: d (228 rows, sha256 2b8de99fb403e352)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = 'log'); t <- summary(f)$table; out <- list(m = t[['median']], l = t[['0.95LCL']], u = t[['0.95UCL']])

## ---- ca516abfdf2cdac16204  tests/test_survival.py::test_reverse_km_followup_matches_R[plain]
## inputs: d (228 rows, sha256 2b8de99fb403e352)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)
f <- survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = 'plain'); t <- summary(f)$table; out <- list(m = t[['median']], l = t[['0.95LCL']], u = t[['0.95UCL']])
