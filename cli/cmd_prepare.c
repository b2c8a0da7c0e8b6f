/* vkrec prepare: read a release or dump, preprocess, write a dataset directory. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_stages.h"
#include "vkr_data_prep.h"

enum { MAX_AMAZON = VKR_DATA_MAX_DOMAINS };

/* Reads the first line of SRC/PROVENANCE.md, when the release ships one, into out. */
static void provenance_title(const char* dir, char* out, size_t cap) {
    char path[4200];
    out[0] = 0;
    snprintf(path, sizeof path, "%s/PROVENANCE.md", dir);
    FILE* f = fopen(path, "r");
    if (!f) return;
    if (fgets(out, (int)cap, f)) out[strcspn(out, "\r\n")] = 0;
    fclose(f);
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

/* What `vkrec prepare` reads from its command line. */
typedef struct prepare_args {
    cli_prepare_options o;           /* the stage's options */
    int format;                      /* --format: index into format_choices, -1 when not given */
    int split;                       /* --split: index into split_choices (the vkr_split_mode order) */
    bool overlap_on, overlap_off;    /* --overlap-only, --no-overlap-only */
    const char* domain_names;        /* --domain-names A,B */
    char names[2][VKR_DATA_NAME_MAX]; /* its two names */
} prepare_args;

static const char* const format_choices[] = {"llmcdsr", "c2dsr", "amazon", "csv", NULL};
static const char* const split_choices[] = {"loo", "given", NULL};
static const cli_positional prepare_positionals[] = {
    {"SRC", "a source", offsetof(prepare_args, o.sources), 0, 2}};
static const cli_option prepare_opts[] = {
    CLI_CHOICE(COMMAND, "--format", prepare_args, format, format_choices, NULL, "what SRC is (required)"),
    CLI_STRING(COMMAND, "--out", "DIR", prepare_args, o.out, NULL, "the dataset directory to write (required)"),
    CLI_CHOICE(COMMAND, "--split", prepare_args, split, split_choices, "loo",
               "leave-one-out, or keep the release's split (llmcdsr, c2dsr)"),
    CLI_STRING(COMMAND, "--target", "D", prepare_args, o.prep.target, NULL,
               "target domain: leave-one-out on D's events; given split keeps D targets"),
    CLI_FLAG(COMMAND, "--no-filter", prepare_args, o.prep.no_filter,
             "turn off the k-core and overlap filters (raw counts)"),
    CLI_UINT(COMMAND, "--min-item", "N", prepare_args, o.prep.min_item, 1, CLI_UINT_LIMIT, "10",
             "k-core: interactions per item"),
    CLI_UINT(COMMAND, "--min-user", "N", prepare_args, o.prep.min_user, 1, CLI_UINT_LIMIT, "3",
             "k-core: interactions per user in each domain used"),
    CLI_FLAG(COMMAND, "--overlap-only", prepare_args, overlap_on,
             "keep only users in every domain (default: on for 2+ domains)"),
    CLI_FLAG(COMMAND, "--no-overlap-only", prepare_args, overlap_off, "keep users missing from a domain"),
    CLI_FLAG(COMMAND, "--keep-duplicates", prepare_args, o.prep.keep_duplicates,
             "keep repeated (user, item) interactions"),
    CLI_UINT(COMMAND, "--max-len", "N", prepare_args, o.prep.max_len, 0, CLI_UINT_LIMIT, "50",
             "history window later stages use (0: unlimited)"),
    CLI_STRINGS(COMMAND, "--domain", "NAME=REVIEWS[,META]", prepare_args, o.amazon, MAX_AMAZON,
                "amazon: one domain's reviews (and metadata), repeated per domain"),
    CLI_STRING(COMMAND, "--domain-names", "A,B", prepare_args, domain_names, "A,B", "names of a release's two domains"),
    CLI_FLAG(COMMAND, "--force", prepare_args, o.force, "replace DIR when it already holds a dataset"),
};
static const cli_option* const prepare_shared[] = {&cli_opt_quiet, NULL};
const cli_spec cli_prepare_spec = {
    .name = "prepare",
    .description =
        "  Sources: llmcdsr/c2dsr: the release directory (titles from its derived/*.tsv when present);\n"
        "  amazon: --domain NAME=REVIEWS[,META] per domain (JSON lines, .gz or plain, 2014/2018 fields);\n"
        "  csv: INTERACTIONS (user,item,timestamp,domain) [ITEMS (item,domain,title[,text])], comma or tab.\n"
        "  Steps: time sort (stable), dedupe, k-core + overlap filters, split; dataset.json says what was done.",
    CLI_POSITIONALS(prepare_positionals),
    CLI_OWN_OPTIONS(prepare_opts),
    .shared = prepare_shared,
};

/* Checks what goes together; fills a->o.names. CLI_OK or CLI_USAGE after a message. */
static int prepare_check(prepare_args* a) {
    const char* cmd = "prepare";
    const cli_prepare_options* o = &a->o;
    if (a->format < 0) return cli_usage_error(cmd, "--format is required (llmcdsr, c2dsr, amazon or csv)");
    if (!o->out) return cli_usage_error(cmd, "--out DIR is required");
    const char* format = o->format;
    bool release = strcmp(format, "llmcdsr") == 0 || strcmp(format, "c2dsr") == 0;
    if (release && o->sources.count != 1)
        return cli_usage_error(cmd, "--format %s takes one release directory", format);
    if (strcmp(format, "csv") == 0 && o->sources.count < 1)
        return cli_usage_error(cmd, "--format csv takes INTERACTIONS [ITEMS]");
    if (strcmp(format, "amazon") == 0 && (o->sources.count != 0 || o->amazon.count == 0))
        return cli_usage_error(cmd, "--format amazon takes one --domain NAME=REVIEWS[,META] per domain");
    if (o->amazon.count && strcmp(format, "amazon") != 0)
        return cli_usage_error(cmd, "--domain belongs to --format amazon");
    for (uint32_t k = 0; k < o->amazon.count; k++) {
        const char* v = o->amazon.v[k];
        const char* eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1]) return cli_usage_error(cmd, "--domain expects NAME=REVIEWS[,META], got '%s'", v);
    }
    if (a->domain_names) {
        if (!release) return cli_usage_error(cmd, "--domain-names renames the A and B domains of a release");
        const char* comma = strchr(a->domain_names, ',');
        if (!comma) return cli_usage_error(cmd, "--domain-names expects A_NAME,B_NAME");
        snprintf(a->names[0], sizeof a->names[0], "%.*s", (int)(comma - a->domain_names), a->domain_names);
        snprintf(a->names[1], sizeof a->names[1], "%s", comma + 1);
        a->o.names[0] = a->names[0];
        a->o.names[1] = a->names[1];
    }
    return CLI_OK;
}

int cli_cmd_prepare(int argc, char** argv) {
    prepare_args a = {.o = {.prep = vkr_prep_options_default(), .argc = argc, .argv = argv}, .format = -1};
    cli_common com = {0};
    if (cli_parse(&cli_prepare_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    a.o.quiet = com.quiet;
    if (a.format >= 0) a.o.format = format_choices[a.format];
    a.o.prep.split = (vkr_split_mode)a.split;
    if (a.overlap_on) a.o.prep.overlap = VKR_OVERLAP_ON;
    if (a.overlap_off) a.o.prep.overlap = VKR_OVERLAP_OFF;
    if (prepare_check(&a) != CLI_OK) return CLI_USAGE;
    if (com.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_status s = cli_stage_prepare(&a.o);
    return s == VKR_OK ? CLI_OK : cli_fail("prepare", s);
}

vkr_status cli_stage_prepare(const cli_prepare_options* opt) {
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
