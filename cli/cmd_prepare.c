/* vkrec prepare: read a release or dump, preprocess, write a dataset directory. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_output.h"
#include "cli_prepare.h"
#include "vkr_data_prep.h"

/* Reads the first line of SRC/PROVENANCE.md, when the release ships one, into out. */
static void provenance_title(const char* dir, char* out, size_t cap) {
    char path[4200];
    out[0] = 0;
    snprintf(path, sizeof path, "%s/PROVENANCE.md", dir);
    FILE* f = fopen(path, "r");
    if (!f) return;
    if (fgets(out, (int)cap, f)) out[strcspn(out, "\r\n")] = 0;
    fclose(f);
    if (strncmp(out, "\xEF\xBB\xBF", 3) == 0) memmove(out, out + 3, strlen(out + 3) + 1); /* a UTF-8 BOM */
}

static void print_report(const vkr_raw* raw, const vkr_prep_report* r, const vkr_dataset* d) {
    printf("read %u users, %u items, %llu interactions\n", r->raw_users, r->raw_items, (unsigned long long)r->raw_events);
    for (uint32_t k = 0; k < raw->skip_count; k++)
        printf("  skipped %llu x %s (first at %s)\n", (unsigned long long)raw->skips[k].count, raw->skips[k].reason,
               raw->skips[k].first);
    const cJSON* removed = cJSON_GetObjectItemCaseSensitive((const cJSON*)d->meta, "removed");
    for (const cJSON* o = removed ? removed->child : NULL; o; o = o->next)
        printf("  %.0f %s\n", cJSON_GetObjectItemCaseSensitive(o, "count")->valuedouble,
               cJSON_GetObjectItemCaseSensitive(o, "reason")->valuestring);
    if (r->filter_rounds) printf("  filters reached a fixed point after %u round(s)\n", r->filter_rounds);
    if (r->train_only) printf("  %u users are too short for validation and test examples and only train\n", r->train_only);
    if (d->split == VKR_SPLIT_GIVEN && d->valid_count + d->test_count > 0) {
        uint64_t train = 0;
        for (uint32_t u = 0; u < d->user_count; u++) train += d->train_len[u];
        if (train == 0) printf("  note: this release has no training sequences; use --split loo to train\n");
    }
}

static const cli_positional prepare_positionals[] = {{"SRC", "a source", offsetof(cli_prep_args, o.sources), 0, 2}};
/* prepare's own options; the command's struct is the shared cli_prep_args itself */
static const cli_option prepare_opts[] = {
    CLI_STRING(COMMAND, "--out", "DIR", cli_prep_args, o.out, NULL, "the dataset directory to write (required)"),
    CLI_CHOICE(DATA, "--split", cli_prep_args, split, cli_prep_split_choices, "loo",
               "leave-one-out, or keep the release's split (llmcdsr, c2dsr)"),
    CLI_UINT(COMMAND, "--max-len", "N", cli_prep_args, o.prep.max_len, 0, CLI_UINT_LIMIT, "50",
             "history window later stages use (0: unlimited)"),
    CLI_FLAG(COMMAND, "--force", cli_prep_args, o.force, "replace DIR when it already holds a dataset"),
};
static const cli_option* const prepare_shared[] = {&cli_opt_quiet, NULL};
const cli_spec cli_prepare_spec = {
    .name = "prepare",
    .description =
        "  Sources: llmcdsr/c2dsr: the release directory (titles from its derived/*.tsv when present);\n"
        "  amazon: --domain NAME=REVIEWS[,META] per domain (JSON lines, .gz or plain, 2014/2018 fields),\n"
        "  or a directory of them (NAME from the file name, meta_NAME.* its metadata);\n"
        "  csv: INTERACTIONS (user,item,timestamp,domain) [ITEMS (item,domain,title[,text])], comma or tab,\n"
        "  or a directory with interactions.csv/.tsv [items.csv/.tsv]. Without --format the format is found\n"
        "  from the files present. Steps: time sort (stable), dedupe, k-core + overlap filters, split;\n"
        "  dataset.json says what was done. DIR is written beside it (DIR.tmp-*) and swapped in whole;\n"
        "  one vkrec at a time writes DIR (lock file DIR.lock; a second one fails), and what a killed\n"
        "  prepare left beside DIR is removed by the next.",
    CLI_POSITIONALS(prepare_positionals),
    CLI_OWN_OPTIONS(prepare_opts),
    .groups = (const cli_option_group* const[]){&cli_prep_group, NULL},
    .shared = prepare_shared,
};

int cli_cmd_prepare(int argc, char** argv) {
    cli_prep_args a;
    cli_prep_args_init(&a, true, argc, argv);
    cli_common com = {0};
    if (cli_parse(&cli_prepare_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a, NULL, &a}) != CLI_OK)
        return CLI_USAGE;
    a.o.quiet = com.quiet;
    if (!a.o.out) return cli_usage_error("prepare", "--out DIR is required");
    if (cli_prep_args_apply(&a, "prepare") != CLI_OK) return CLI_USAGE;
    if (com.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_status s = cli_stage_prepare(&a.o);
    return s == VKR_OK ? CLI_OK : cli_fail("prepare", s);
}

/* cli_stage_prepare under the lock of opt->out. */
static vkr_status prepare_locked(const cli_prepare_options* opt) {
    const char* format = opt->format;
    const bool quiet = opt->quiet;
    const char* const* srcs = opt->sources.v;
    const int nsrc = (int)opt->sources.count;
    const bool release = strcmp(format, "llmcdsr") == 0 || strcmp(format, "c2dsr") == 0;
    const char* const* names = opt->names;
    bool tty = !quiet && isatty(fileno(stderr));

    cJSON* source = cJSON_CreateObject();
    cJSON_AddStringToObject(source, "format", format);
    cJSON* paths = cJSON_AddArrayToObject(source, "paths");
    cJSON* argv_json = cJSON_AddArrayToObject(source, "command");
    for (int k = 0; k < opt->argc; k++) cJSON_AddItemToArray(argv_json, cJSON_CreateString(opt->argv[k]));
    vkr_raw raw = {0};
    vkr_status s = VKR_OK;
    if (tty) fprintf(stderr, "reading %s data...\r", format);
    double t0 = vkr_now_s();
    if (release) {
        cJSON_AddItemToArray(paths, cJSON_CreateString(srcs[0]));
        char title[512];
        provenance_title(srcs[0], title, sizeof title);
        if (title[0]) cJSON_AddStringToObject(source, "provenance", title);
        s = format[0] == 'l' ? vkr_parse_llmcdsr(&raw, srcs[0], names) : vkr_parse_c2dsr(&raw, srcs[0], names);
    } else if (format[0] == 'c') {
        for (int k = 0; k < nsrc; k++) cJSON_AddItemToArray(paths, cJSON_CreateString(srcs[k]));
        s = vkr_parse_csv(&raw, srcs[0], srcs[1]);
    } else {
        for (uint32_t k = 0; k < opt->amazon.count && s == VKR_OK; k++) {
            char spec[4200];
            snprintf(spec, sizeof spec, "%s", opt->amazon.v[k]);
            cJSON_AddItemToArray(paths, cJSON_CreateString(spec));
            char* eq = strchr(spec, '=');
            *eq = 0;
            char* meta = strchr(eq + 1, ',');
            if (meta) *meta++ = 0;
            if (tty) fprintf(stderr, "reading domain %s...            \r", spec);
            s = vkr_parse_amazon(&raw, spec, eq + 1, meta && *meta ? meta : NULL);
        }
    }
    double t_read = vkr_now_s() - t0;
    vkr_dataset d = {0};
    vkr_prep_report rep;
    if (s == VKR_OK) {
        if (tty) fprintf(stderr, "preprocessing %llu interactions...\r", (unsigned long long)raw.event_count);
        s = vkr_data_prepare(&raw, &opt->prep, &d, &rep);
    }
    double t_prep = vkr_now_s() - t0 - t_read;
    if (s == VKR_OK) s = vkr_dataset_write(&d, opt->out, source, opt->force);
    if (tty) fprintf(stderr, "%60s\r", "");
    if (s == VKR_OK && !quiet) {
        print_report(&raw, &rep, &d);
        vkr_dataset_stats st;
        vkr_dataset_stats_compute(&d, &st);
        vkr_dataset_stats_print(&d, &st, stdout);
        printf("wrote %s (read %.2f s, preprocessed %.2f s, %.0f interactions/s)\n", opt->out, t_read, t_prep,
               (double)rep.raw_events / (t_read + t_prep > 0 ? t_read + t_prep : 1));
    }
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
    cJSON_Delete(source);
    return s;
}

vkr_status cli_stage_prepare(const cli_prepare_options* opt) {
    vkr_lock lock;
    VKR_TRY(cli_output_lock_beside(opt->out, &lock)); /* and what a killed prepare left beside DIR goes */
    vkr_status s = prepare_locked(opt);
    vkr_lock_release(&lock);
    return s;
}
