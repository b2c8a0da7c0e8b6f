/* The data options of prepare and run, and finding a source's format and files (see cli_prepare.h). */
#include "cli_prepare.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

enum { FMT_LLMCDSR, FMT_C2DSR, FMT_AMAZON, FMT_CSV }; /* indices into format_choices */
static const char* const format_choices[] = {"llmcdsr", "c2dsr", "amazon", "csv", NULL};
const char* const cli_prep_split_choices[] = {"loo", "given", NULL};

static const cli_option prep_options[] = {
    CLI_CHOICE(DATA, "--format", cli_prep_args, format, format_choices, NULL,
               "what SRC is (default: found from the files present)"),
    CLI_STRING(DATA, "--target", "D", cli_prep_args, o.prep.target, NULL,
               "target domain: leave-one-out on D's events; given split keeps D targets"),
    CLI_FLAG(DATA, "--no-filter", cli_prep_args, o.prep.no_filter,
             "turn off the k-core and overlap filters (raw counts)"),
    CLI_UINT(DATA, "--min-item", "N", cli_prep_args, o.prep.min_item, 1, CLI_UINT_LIMIT, "10",
             "k-core: interactions per item"),
    CLI_UINT(DATA, "--min-user", "N", cli_prep_args, o.prep.min_user, 1, CLI_UINT_LIMIT, "3",
             "k-core: interactions per user in each domain used"),
    CLI_FLAG(DATA, "--overlap-only", cli_prep_args, overlap_on,
             "keep only users in every domain (default: on for 2+ domains)"),
    CLI_FLAG(DATA, "--no-overlap-only", cli_prep_args, overlap_off, "keep users missing from a domain"),
    CLI_FLAG(DATA, "--keep-duplicates", cli_prep_args, o.prep.keep_duplicates,
             "keep repeated (user, item) interactions"),
    CLI_STRINGS(DATA, "--domain", "NAME=REVIEWS[,META]", cli_prep_args, o.amazon, VKR_DATA_MAX_DOMAINS,
                "amazon: one domain's reviews (and metadata), repeated per domain"),
    CLI_STRING(DATA, "--domain-names", "A,B", cli_prep_args, domain_names, NULL,
               "names of a release's two domains (default: A,B)"),
};
const cli_option_group cli_prep_group = {prep_options, sizeof prep_options / sizeof *prep_options};

void cli_prep_args_init(cli_prep_args* a, bool filters, int argc, char** argv) {
    memset(a, 0, sizeof *a);
    a->o.prep = vkr_prep_options_default();
    a->o.argc = argc;
    a->o.argv = argv;
    a->format = -1;
    if (!filters) a->o.prep.min_item = a->o.prep.min_user = 0; /* 0: not given (the options accept 1 and up) */
}

static bool path_kind(const char* path, bool dir) {
    struct stat st;
    return stat(path, &st) == 0 && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

/* dir/name into out when that file exists. */
static bool dir_has(const char* dir, const char* name, char* out, size_t size) {
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n > 0 && (size_t)n < size && path_kind(out, false);
}

/* The stem of an Amazon JSON-lines file name (its length), or 0 when it is not one. */
static size_t json_stem(const char* name) {
    static const char* const ext[] = {".json.gz", ".jsonl.gz", ".json", ".jsonl"};
    size_t len = strlen(name);
    for (size_t k = 0; k < sizeof ext / sizeof *ext; k++) {
        size_t e = strlen(ext[k]);
        if (len > e && strcmp(name + len - e, ext[k]) == 0) return len - e;
    }
    return 0;
}

static int cmp_str(const void* a, const void* b) {
    return strcmp(*(const char* const*)a, *(const char* const*)b);
}

/* The JSON-lines files of dir, sorted (readdir's order is the file system's); *out is malloc'd. */
static uint32_t json_files(const char* dir, char*** out) {
    *out = NULL;
    DIR* d = opendir(dir);
    if (!d) return 0;
    uint32_t n = 0, cap = 0;
    for (struct dirent* e; (e = readdir(d));) {
        if (!json_stem(e->d_name)) continue;
        if (n == cap) {
            char** grown = realloc(*out, (cap = cap ? 2 * cap : 16) * sizeof **out);
            if (!grown) break;
            *out = grown;
        }
        if (!((*out)[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    if (n) qsort(*out, n, sizeof **out, cmp_str);
    return n;
}

/* One --domain NAME=REVIEWS[,META] per reviews file of dir, the name from the file name. */
static int find_amazon(cli_prep_args* a, const char* cmd, const char* dir) {
    char** f = NULL;
    uint32_t n = json_files(dir, &f);
    int rc = CLI_OK;
    for (uint32_t k = 0; k < n && rc == CLI_OK; k++) {
        if (strncmp(f[k], "meta_", 5) == 0) continue;
        size_t len = json_stem(f[k]);
        const char* name = f[k];
        if (len > 8 && strncmp(name, "reviews_", 8) == 0) name += 8, len -= 8; /* 2014: reviews_Books_5 */
        if (len > 2 && strncmp(name + len - 2, "_5", 2) == 0) len -= 2;      /* the 5-core files */
        if (a->o.amazon.count == VKR_DATA_MAX_DOMAINS) {
            rc = cli_usage_error(cmd, "%s holds more than %d review files", dir, VKR_DATA_MAX_DOMAINS);
            break;
        }
        char* spec = a->amazon[a->o.amazon.count];
        size_t cap = sizeof a->amazon[0];
        int w = snprintf(spec, cap, "%.*s=%s/%s", (int)len, name, dir, f[k]);
        for (uint32_t j = 0; j < n && w > 0 && (size_t)w < cap; j++) /* meta_NAME.*, any extension */
            if (strncmp(f[j], "meta_", 5) == 0 && json_stem(f[j]) == len + 5 && strncmp(f[j] + 5, name, len) == 0) {
                w += snprintf(spec + w, cap - (size_t)w, ",%s/%s", dir, f[j]);
                break;
            }
        if (w <= 0 || (size_t)w >= cap) rc = cli_usage_error(cmd, "a path under %s is too long", dir);
        else a->o.amazon.v[a->o.amazon.count++] = spec;
    }
    for (uint32_t k = 0; k < n; k++) free(f[k]);
    free(f);
    if (rc == CLI_OK && a->o.amazon.count == 0)
        rc = cli_usage_error(cmd, "%s holds no Amazon review files (*.json[l][.gz] other than meta_*)", dir);
    a->o.sources.count = 0;
    return rc;
}

/* interactions.{csv,tsv} (and items.{csv,tsv}) of dir as the csv sources. */
static int find_csv(cli_prep_args* a, const char* cmd, const char* dir) {
    if (!dir_has(dir, "interactions.csv", a->paths[0], sizeof a->paths[0]) &&
        !dir_has(dir, "interactions.tsv", a->paths[0], sizeof a->paths[0]))
        return cli_usage_error(cmd, "%s holds no interactions.csv or interactions.tsv", dir);
    a->o.sources = (cli_str_list){1, {a->paths[0]}};
    if (dir_has(dir, "items.csv", a->paths[1], sizeof a->paths[1]) ||
        dir_has(dir, "items.tsv", a->paths[1], sizeof a->paths[1]))
        a->o.sources.v[a->o.sources.count++] = a->paths[1];
    return CLI_OK;
}

/* The format of the first source, from the files present (see cli_prepare.h). */
static int detect(cli_prep_args* a, const char* cmd) {
    if (a->o.amazon.count) return a->format = FMT_AMAZON, CLI_OK;
    if (a->o.sources.count == 0) return cli_usage_error(cmd, "a source is required (SRC, or --domain for amazon)");
    const char* src = a->o.sources.v[0];
    char p[CLI_PREP_PATH_MAX];
    if (path_kind(src, false)) a->format = FMT_CSV;
    else if (!path_kind(src, true)) return cli_usage_error(cmd, "source %s does not exist", src);
    else if (dir_has(src, "dataset.json", p, sizeof p))
        return cli_usage_error(cmd, "%s is a prepared dataset already (dataset.json)", src);
    else if (dir_has(src, "num.txt", p, sizeof p)) a->format = FMT_LLMCDSR;
    else if (dir_has(src, "Alist.txt", p, sizeof p) && dir_has(src, "Blist.txt", p, sizeof p)) a->format = FMT_C2DSR;
    else if (dir_has(src, "interactions.csv", p, sizeof p) || dir_has(src, "interactions.tsv", p, sizeof p))
        a->format = FMT_CSV;
    else {
        char** f = NULL;
        uint32_t n = json_files(src, &f);
        for (uint32_t k = 0; k < n; k++) free(f[k]);
        free(f);
        if (!n)
            return cli_usage_error(cmd, "cannot tell the format of %s: no dataset.json, num.txt (llmcdsr), Alist.txt "
                                   "and Blist.txt (c2dsr), interactions.csv/.tsv (csv) or *.json[l][.gz] review files "
                                   "(amazon); name it with --format", src);
        a->format = FMT_AMAZON;
    }
    return CLI_OK;
}

int cli_prep_args_apply(cli_prep_args* a, const char* cmd) {
    cli_prepare_options* o = &a->o;
    if (a->format < 0 && detect(a, cmd) != CLI_OK) return CLI_USAGE;
    const char* format = o->format = format_choices[a->format];
    const bool release = a->format == FMT_LLMCDSR || a->format == FMT_C2DSR;
    const bool dir = o->sources.count == 1 && path_kind(o->sources.v[0], true);
    if (a->format == FMT_CSV && dir && find_csv(a, cmd, o->sources.v[0]) != CLI_OK) return CLI_USAGE;
    if (a->format == FMT_AMAZON && dir && !o->amazon.count && find_amazon(a, cmd, o->sources.v[0]) != CLI_OK)
        return CLI_USAGE;
    if (release && o->sources.count != 1)
        return cli_usage_error(cmd, "--format %s takes one release directory", format);
    if (a->format == FMT_CSV && o->sources.count < 1)
        return cli_usage_error(cmd, "--format csv takes INTERACTIONS [ITEMS]");
    if (a->format == FMT_AMAZON && (o->sources.count != 0 || o->amazon.count == 0))
        return cli_usage_error(cmd, "--format amazon takes a directory, or one --domain NAME=REVIEWS[,META] per "
                               "domain");
    if (o->amazon.count && a->format != FMT_AMAZON) return cli_usage_error(cmd, "--domain belongs to --format amazon");
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
        o->names[0] = a->names[0];
        o->names[1] = a->names[1];
    }
    o->prep.split = (vkr_split_mode)a->split;
    if (a->overlap_on) o->prep.overlap = VKR_OVERLAP_ON;
    if (a->overlap_off) o->prep.overlap = VKR_OVERLAP_OFF;
    /* filters off by default (run): on when a filter option was given, the others at their defaults */
    const vkr_prep_options def = vkr_prep_options_default();
    if (!o->prep.min_item && !o->prep.min_user && !a->overlap_on) o->prep.no_filter = true;
    if (!o->prep.min_item) o->prep.min_item = def.min_item;
    if (!o->prep.min_user) o->prep.min_user = def.min_user;
    return CLI_OK;
}

const char* cli_prep_describe(const vkr_dataset* ds, char* buf, size_t size) {
    const cJSON* meta = ds->meta;
    const cJSON* src = cJSON_GetObjectItemCaseSensitive(meta, "source");
    const cJSON* fmt = cJSON_GetObjectItemCaseSensitive(src, "format");
    const cJSON* f = cJSON_GetObjectItemCaseSensitive(meta, "filters");
    const cJSON* mi = cJSON_GetObjectItemCaseSensitive(f, "min_item");
    const cJSON* mu = cJSON_GetObjectItemCaseSensitive(f, "min_user_per_domain");
    const char* format = cJSON_IsString(fmt) ? fmt->valuestring : "unknown";
    if (!f) return snprintf(buf, size, "format %s; filters unknown", format), buf;
    char kcore[96] = "no k-core";
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "k_core")) && cJSON_IsNumber(mi) && cJSON_IsNumber(mu))
        snprintf(kcore, sizeof kcore, "k-core %.0f interactions per item, %.0f per user and domain", mi->valuedouble,
                 mu->valuedouble);
    bool overlap = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "overlap_only"));
    bool dedupe = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f, "dedupe"));
    snprintf(buf, size, "format %s; filters: %s, %s, %s", format, kcore,
             overlap ? "overlapping users only" : "every user",
             dedupe ? "duplicates dropped" : "duplicates kept");
    return buf;
}
