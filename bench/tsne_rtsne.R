#!/usr/bin/env Rscript
# Rtsne (Barnes-Hut t-SNE in C++, Debian's r-cran-rtsne) as the second peer of `vkrec bench tsne`.
#
# usage: Rscript tsne_rtsne.R IN.npy OUT.npy [PERPLEXITY] [ITERS]
# Reads an N x D little-endian float32 .npy, runs Rtsne with the settings vkrec and the scikit-learn
# peer use (perplexity 30, 1000 iterations, early exaggeration 12 for 250 iterations with momentum
# 0.5 then 0.8, theta 0.5, PCA init scaled to standard deviation 1e-4, learning rate "auto"), writes
# the N x 2 layout to OUT.npy and prints one JSON line: {"seconds", "kl", "n", "rtsne"}. "seconds"
# covers the Rtsne call only (affinities + optimization); "kl" is Rtsne's own final cost.
# Rtsne's defaults differ and are overridden: it would reduce X to 50 dims by PCA and rescale it
# (pca, normalize: a different P), restart nothing after a given Y_init (stop_lying_iter and
# mom_switch_iter default to 0 then) and step with eta 200. Its gradient omits the factor 4 of the
# true one, so scikit-learn's "auto" rate max(N / 48, 50) is max(N / 12, 200) here.

fail <- function(msg) {
  cat(sprintf('{"error": "%s"}\n', gsub('"', "'", msg)))
  quit(status = 3)
}

read_npy <- function(path) {
  con <- file(path, "rb")
  on.exit(close(con))
  magic <- readBin(con, "raw", 8)
  if (length(magic) < 8 || rawToChar(magic[2:6]) != "NUMPY") fail(paste(path, "is not a .npy file"))
  hlen <- if (as.integer(magic[7]) == 1) readBin(con, "integer", size = 2, signed = FALSE, endian = "little")
          else readBin(con, "integer", size = 4, endian = "little")
  header <- rawToChar(readBin(con, "raw", hlen))
  if (!grepl("'<f4'", header, fixed = TRUE) || grepl("'fortran_order': True", header, fixed = TRUE))
    fail(paste(path, "is not a C-order little-endian float32 array"))
  shape <- as.integer(strsplit(sub(".*'shape': \\(([0-9, ]*)\\).*", "\\1", header), ",")[[1]])
  v <- readBin(con, "numeric", size = 4, n = shape[1] * shape[2], endian = "little")
  matrix(v, nrow = shape[1], ncol = shape[2], byrow = TRUE)
}

write_npy <- function(path, y) {
  header <- sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", nrow(y), ncol(y))
  pad <- 64 - (10 + nchar(header) + 1) %% 64
  header <- paste0(header, strrep(" ", pad %% 64), "\n")
  con <- file(path, "wb")
  on.exit(close(con))
  writeBin(as.raw(c(0x93, charToRaw("NUMPY"), 1, 0)), con)
  writeBin(nchar(header), con, size = 2, endian = "little")
  writeBin(charToRaw(header), con)
  writeBin(as.vector(t(y)), con, size = 4, endian = "little")
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) fail("usage: tsne_rtsne.R IN.npy OUT.npy [PERPLEXITY] [ITERS]")
perplexity <- if (length(args) >= 3) as.numeric(args[3]) else 30
iters <- if (length(args) >= 4) as.integer(args[4]) else 1000L
if (!suppressWarnings(requireNamespace("Rtsne", quietly = TRUE))) fail("the R package Rtsne is not installed")
x <- read_npy(args[1])
n <- nrow(x)
# PCA init as scikit-learn's: the top two components, scaled so the first has std 1e-4.
pc <- prcomp(x, center = TRUE, scale. = FALSE, rank. = 2)$x
y0 <- pc / sd(pc[, 1]) * 1e-4
t0 <- proc.time()[["elapsed"]]
r <- Rtsne::Rtsne(x, dims = 2, perplexity = perplexity, theta = 0.5, check_duplicates = FALSE, pca = FALSE,
                  normalize = FALSE, max_iter = iters, Y_init = y0, stop_lying_iter = 250L, mom_switch_iter = 250L,
                  momentum = 0.5, final_momentum = 0.8, exaggeration_factor = 12, eta = max(n / 12, 200),
                  num_threads = 0)
seconds <- proc.time()[["elapsed"]] - t0
write_npy(args[2], r$Y)
cat(sprintf('{"seconds": %.6f, "kl": %.6f, "n": %d, "rtsne": "%s"}\n', seconds, tail(r$itercosts, 1), n,
            as.character(utils::packageVersion("Rtsne"))))
