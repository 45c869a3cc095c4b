# R scripts behind the frozen references of tests/test_landmark_analysis.py (written by
# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is
# the whole script run for one key of r_results.json; its CSV inputs are the
# frames the test builds (hashes in the json). `out` is written as JSON.

## ---- b13a6e12c524c16c7f2f  tests/test_landmark_analysis.py::test_landmark_and_rates_match_r
## inputs: d (227 rows, sha256 bf69ff648ebf573e)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

L <- 180
f0 <- coxph(Surv(time, dead) ~ ecog_grp, data = d)
s <- subset(d, time >= L); s$time <- s$time - L
f1 <- coxph(Surv(time, dead) ~ ecog_grp, data = s)
k <- summary(survfit(Surv(time, dead) ~ sex, data = d), times = c(180, 365, 730))
out <- list(c0 = unname(coef(f0)), c1 = unname(coef(f1)), n1 = f1$n, e1 = f1$nevent,
            surv = k$surv, se = k$std.err, lower = k$lower, upper = k$upper, nrisk = k$n.risk)


## ---- d3503f4165fb5809cb82  tests/test_landmark_analysis.py::test_scaled_schoenfeld_residuals_and_smooth_match_r[breslow]
## inputs: d (227 rows, sha256 bf69ff648ebf573e)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

suppressMessages(library(splines))
f <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, ties = "breslow")
z <- cox.zph(f)
xx <- z$x; yy <- z$y[, 2]
px <- seq(min(xx), max(xx), length = 40)
b <- ns(xx, df = 4, intercept = TRUE)
pm <- predict(b, px)
q <- qr(b)
bk <- backsolve(q$qr[1:4, 1:4], diag(4))
se <- ((pm %*% bk %*% t(bk)) * pm) %*% rep(1, 4)
out <- list(time = z$time, x = z$x, y = unname(as.list(as.data.frame(z$y))),
            fit = as.vector(pm %*% qr.coef(q, yy)), band = as.vector(2 * sqrt(z$var[2, 2] * se)))


## ---- 429b280912a4ee1505c9  tests/test_landmark_analysis.py::test_scaled_schoenfeld_residuals_and_smooth_match_r[efron]
## inputs: d (227 rows, sha256 bf69ff648ebf573e)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

suppressMessages(library(splines))
f <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, ties = "efron")
z <- cox.zph(f)
xx <- z$x; yy <- z$y[, 2]
px <- seq(min(xx), max(xx), length = 40)
b <- ns(xx, df = 4, intercept = TRUE)
pm <- predict(b, px)
q <- qr(b)
bk <- backsolve(q$qr[1:4, 1:4], diag(4))
se <- ((pm %*% bk %*% t(bk)) * pm) %*% rep(1, 4)
out <- list(time = z$time, x = z$x, y = unname(as.list(as.data.frame(z$y))),
            fit = as.vector(pm %*% qr.coef(q, yy)), band = as.vector(2 * sqrt(z$var[2, 2] * se)))


## ---- 3fc0ea3f593602dad98c  tests/test_landmark_analysis.py::test_stratified_cox_as_the_chapter_fits_it_matches_r
## inputs: d (93 rows, sha256 d9b231e4ce321d66)
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("d.csv", stringsAsFactors = FALSE)

f <- coxph(Surv(os_months, os_event) ~ second_line + child_pugh + afp_gt400 + strata(tace), data = d)
out <- list(coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))))

