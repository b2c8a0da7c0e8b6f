/* vkrec prepare: read a release or dump, preprocess, write a dataset directory. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
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

int cli_cmd_prepare(int argc, char** argv) {
    const char* cmd = "prepare";
    const char* format = NULL;
    const char* out = NULL;
    const char* names_arg = NULL;
    const char* srcs[2] = {NULL, NULL};
    int nsrc = 0;
    char* amazon[MAX_AMAZON];
    int namazon = 0;
    bool force = false, quiet = false;
    vkr_prep_options o = vkr_prep_options_default();
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = NULL;
        unsigned n = 0;
        if (strcmp(a, "--format") == 0) {
            if (!(format = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--out") == 0) {
            if (!(out = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--split") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            if (strcmp(v, "given") == 0) o.split = VKR_SPLIT_GIVEN;
            else if (strcmp(v, "loo") == 0) o.split = VKR_SPLIT_LOO;
            else return cli_usage_error(cmd, "--split expects given or loo, got '%s'", v);
        } else if (strcmp(a, "--no-filter") == 0) {
            o.no_filter = true;
        } else if (strcmp(a, "--min-item") == 0 || strcmp(a, "--min-user") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i)) || !cli_parse_uint(cmd, a, v, &n)) return CLI_USAGE;
            *(a[6] == 'i' ? &o.min_item : &o.min_user) = n;
        } else if (strcmp(a, "--overlap-only") == 0) {
            o.overlap = VKR_OVERLAP_ON;
        } else if (strcmp(a, "--no-overlap-only") == 0) {
            o.overlap = VKR_OVERLAP_OFF;
        } else if (strcmp(a, "--keep-duplicates") == 0) {
            o.keep_duplicates = true;
        } else if (strcmp(a, "--max-len") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            if (strcmp(v, "0") == 0) o.max_len = 0;
            else if (!cli_parse_uint(cmd, a, v, &n)) return CLI_USAGE;
            else o.max_len = n;
        } else if (strcmp(a, "--target") == 0) {
            if (!(o.target = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--domain") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            if (namazon == MAX_AMAZON) return cli_usage_error(cmd, "at most %d --domain options", MAX_AMAZON);
            if (!strchr(v, '=') || strchr(v, '=') == v || !strchr(v, '=')[1])
                return cli_usage_error(cmd, "--domain expects NAME=REVIEWS[,META], got '%s'", v);
            amazon[namazon++] = (char*)v;
        } else if (strcmp(a, "--domain-names") == 0) {
            if (!(names_arg = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (a[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        } else {
            if (nsrc == 2) return cli_usage_error(cmd, "too many sources (at '%s')", a);
            srcs[nsrc++] = a;
        }
    }
    if (!format) return cli_usage_error(cmd, "--format is required (llmcdsr, c2dsr, amazon or csv)");
    if (!out) return cli_usage_error(cmd, "--out DIR is required");
    bool release = strcmp(format, "llmcdsr") == 0 || strcmp(format, "c2dsr") == 0;
    if (release && nsrc != 1) return cli_usage_error(cmd, "--format %s takes one release directory", format);
    if (strcmp(format, "csv") == 0 && nsrc < 1) return cli_usage_error(cmd, "--format csv takes INTERACTIONS [ITEMS]");
    if (strcmp(format, "amazon") == 0 && (nsrc != 0 || namazon == 0))
        return cli_usage_error(cmd, "--format amazon takes one --domain NAME=REVIEWS[,META] per domain");
    if (!release && strcmp(format, "csv") != 0 && strcmp(format, "amazon") != 0)
        return cli_usage_error(cmd, "unknown format '%s' (llmcdsr, c2dsr, amazon or csv)", format);
    if (namazon && strcmp(format, "amazon") != 0) return cli_usage_error(cmd, "--domain belongs to --format amazon");
    char names_buf[2 * VKR_DATA_NAME_MAX] = "";
    const char* names[2] = {NULL, NULL};
    if (names_arg) {
        if (!release) return cli_usage_error(cmd, "--domain-names renames the A and B domains of a release");
        snprintf(names_buf, sizeof names_buf, "%s", names_arg);
        char* comma = strchr(names_buf, ',');
        if (!comma) return cli_usage_error(cmd, "--domain-names expects A_NAME,B_NAME");
        *comma = 0;
        names[0] = names_buf;
        names[1] = comma + 1;
    }
    if (quiet) vkr_log_set_level(VKR_LOG_ERROR);
    bool tty = !quiet && isatty(fileno(stderr));

    cJSON* source = cJSON_CreateObject();
    cJSON_AddStringToObject(source, "format", format);
    cJSON* paths = cJSON_AddArrayToObject(source, "paths");
    cJSON* argv_json = cJSON_AddArrayToObject(source, "command");
    for (int k = 0; k < argc; k++) cJSON_AddItemToArray(argv_json, cJSON_CreateString(argv[k]));
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
        for (int k = 0; k < namazon && s == VKR_OK; k++) {
            char spec[4200];
            snprintf(spec, sizeof spec, "%s", amazon[k]);
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
        s = vkr_data_prepare(&raw, &o, &d, &rep);
    }
    double t_prep = vkr_now_s() - t0 - t_read;
    if (s == VKR_OK) s = vkr_dataset_write(&d, out, source, force);
    if (tty) fprintf(stderr, "%60s\r", "");
    int rc = CLI_OK;
    if (s != VKR_OK) rc = cli_fail(cmd, s);
    else if (!quiet) {
        print_report(&raw, &rep, &d);
        vkr_dataset_stats st;
        vkr_dataset_stats_compute(&d, &st);
        vkr_dataset_stats_print(&d, &st, stdout);
        printf("wrote %s (read %.2f s, preprocessed %.2f s, %.0f interactions/s)\n", out, t_read, t_prep,
               (double)rep.raw_events / (t_read + t_prep > 0 ? t_read + t_prep : 1));
    }
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
    cJSON_Delete(source);
    return rc;
}
