/* realpath() and symlink() are X/Open, beyond the project-wide POSIX level */
#define _XOPEN_SOURCE 700
/* The main job's data stages and each seed's view of the dataset (see run_data.h). */
#include "run_data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Trains the run's tokenizer (demo-sized RQ-VAE: 3 x 256 codes, GenCDR domain adapters) on dir. */
static vkr_status run_tokenize(vkr_device* dev, const char* dir, uint64_t seed, uint32_t epochs, bool quiet,
                               run_state* rs) {
    double t0 = vkr_now_s();
    if (!quiet) printf("== tokenize %s (seed %llu)\n", dir, (unsigned long long)seed);
    cli_tokenize_options t = {.dir = dir, .config = {.adapters = true, .hidden = {256, 128}, .hidden_count = 2},
                              .train = {.epochs = epochs, .seed = seed}, .quiet = quiet};
    VKR_TRY(cli_stage_tokenize(dev, &t));
    run_stage_done(rs, "tokenize", cli_backend_name(dev), t0);
    return VKR_OK;
}

vkr_status run_link_files(const char* from_dir, const char* dir, const char* const* names, size_t count) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return vkr_fail(VKR_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    for (size_t f = 0; f < count; f++) {
        char from[PATH_MAX + 64], target[PATH_MAX], link[PATH_MAX + 64];
        snprintf(from, sizeof from, "%s/%s", from_dir, names[f]);
        snprintf(link, sizeof link, "%s/%s", dir, names[f]);
        if (!realpath(from, target)) return vkr_fail(VKR_ERR_IO, "cannot resolve %s: %s", from, strerror(errno));
        /* absolute links: `vkrec recommend --ckpt` finds the dataset from anywhere */
        if ((unlink(link) != 0 && errno != ENOENT) || symlink(target, link) != 0)
            return vkr_fail(VKR_ERR_IO, "cannot link %s to %s: %s", link, target, strerror(errno));
    }
    return VKR_OK;
}

vkr_status run_data_stages(vkr_device* dev, cli_prep_args* prep, const char* dataset, const char* data_dir,
                           vkr_embed_source source, bool tokenize, uint32_t tokenizer_epochs, bool quiet,
                           run_state* rs) {
    double t0 = vkr_now_s();
    char src_abs[PATH_MAX], dst_abs[PATH_MAX];
    bool own = prep || (realpath(dataset, src_abs) && realpath(data_dir, dst_abs) && strcmp(src_abs, dst_abs) == 0);
    if (!own) { /* the embedding and IDs go beside links to the dataset, never into it */
        static const char* const files[] = {"dataset.json", "data.bin"};
        VKR_TRY(run_link_files(dataset, data_dir, files, sizeof files / sizeof *files));
    }
    if (prep) {
        if (!quiet)
            printf("== prepare %s (%s) -> %s\n", prep->o.sources.count ? prep->o.sources.v[0] : "--domain",
                   prep->o.format, data_dir);
        prep->o.out = data_dir;
        prep->o.force = true;
        prep->o.quiet = quiet;
        VKR_TRY(cli_stage_prepare(&prep->o));
        run_stage_done(rs, "prepare", "host", t0);
    }
    t0 = vkr_now_s();
    if (!quiet) printf("== embed %s\n", data_dir);
    cli_embed_options e = {.dir = data_dir, .embed = {.source = source, .svd = {.dim = CLI_EMBED_DIM}},
                           .quiet = quiet};
    VKR_TRY(cli_stage_embed(dev, &e));
    run_stage_done(rs, "embed", cli_backend_name(dev), t0);
    return tokenize ? run_tokenize(dev, data_dir, 0, tokenizer_epochs, quiet, rs) : VKR_OK;
}

vkr_status run_seed_data(vkr_device* dev, const char* data_dir, const char* seed_dir, uint32_t k,
                         uint32_t tokenizer_epochs, bool quiet, run_state* rs) {
    static const char* const shared[] = {"dataset.json", "data.bin", "item_emb.npy", "item_emb.json"};
    VKR_TRY(run_link_files(data_dir, seed_dir, shared, sizeof shared / sizeof *shared));
    return run_tokenize(dev, seed_dir, k, tokenizer_epochs, quiet, rs);
}
