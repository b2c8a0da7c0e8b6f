/* The option-table parser and help writer behind every vkrec command (see cli_options.h). */
#include "cli_options.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const cli_option cli_opt_device =
    CLI_STRING(COMMON, "--device", "INDEX|NAME|cpu", cli_common, device, NULL,
               "device (default: VKR_DEVICE or the best); cpu: the CPU reference backend");
const cli_option cli_opt_gpu = CLI_STRING(COMMON, "--device", "INDEX|NAME", cli_common, device, NULL,
                                          "Vulkan device (default: VKR_DEVICE or the best)");
const cli_option cli_opt_quiet = CLI_FLAG(COMMON, "--quiet", cli_common, quiet, "print nothing but errors");
const cli_option cli_opt_json = CLI_FLAG(COMMON, "--json", cli_common, json, "print the same as JSON");
const cli_option cli_opt_json_file = CLI_STRING(COMMON, "--json", "FILE", cli_common, json_file, NULL,
                                                "also write the results as JSON (replaces FILE only when it "
                                                "holds JSON, else --force; never an input)");
const cli_option cli_opt_force = CLI_FLAG(COMMON, "--force", cli_common, force,
                                          "replace an existing output file that is not of the kind vkrec writes "
                                          "there (JSON for --json, an N x 2 float32 .npy map, a CSV with the same "
                                          "header); an input of the command is never replaced");
const cli_option cli_opt_seed = CLI_UINT(COMMON, "--seed", "N", cli_common, seed, 0, CLI_UINT_LIMIT, NULL,
                                         "seed of every random choice");

/* The spec's k-th option (its own first, then its groups', then the shared ones), or NULL past the end. */
static const cli_option* option_at(const cli_spec* spec, size_t k) {
    if (k < spec->option_count) return &spec->options[k];
    k -= spec->option_count;
    for (size_t g = 0; spec->groups && spec->groups[g]; g++) {
        if (k < spec->groups[g]->count) return &spec->groups[g]->options[k];
        k -= spec->groups[g]->count;
    }
    for (size_t j = 0; spec->shared && spec->shared[j]; j++)
        if (j == k) return spec->shared[j];
    return NULL;
}

static const cli_option* find_option(const cli_spec* spec, const char* name, size_t len) {
    const cli_option* o = NULL;
    for (size_t k = 0; (o = option_at(spec, k)); k++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
    return NULL;
}

/* Reads an integer in [min, max]; false when text is not one. */
static bool read_uint(const char* text, double min, double max, uint32_t* out) {
    char* end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || text[0] == '-' || text[0] == '+' || (double)v < min || (double)v > max) return false;
    *out = (uint32_t)v;
    return true;
}

static int range_error(const char* cmd, const cli_option* o, const char* value) {
    if (o->min == 1 && o->max == CLI_UINT_LIMIT)
        return cli_usage_error(cmd, "%s expects a positive integer, got '%s'", o->name, value);
    return cli_usage_error(cmd, "%s expects an integer in %.0f..%.0f, got '%s'", o->name, o->min, o->max, value);
}

static int set_float(const char* cmd, const cli_option* o, const char* value, float* out) {
    char* end = NULL;
    double v = strtod(value, &end);
    bool ok = *value && !*end && isfinite(v) && ((o->open & CLI_MIN_OPEN) ? v > o->min : v >= o->min) &&
              ((o->open & CLI_MAX_OPEN) ? v < o->max : v <= o->max);
    if (!ok)
        return cli_usage_error(cmd, "%s expects a number in %c%g, %g%c, got '%s'", o->name,
                               (o->open & CLI_MIN_OPEN) ? '(' : '[', o->min, o->max,
                               (o->open & CLI_MAX_OPEN) ? ')' : ']', value);
    *out = (float)v;
    return CLI_OK;
}

static int set_choice(const char* cmd, const cli_option* o, const char* value, int* out) {
    for (int k = 0; o->choices[k]; k++)
        if (strcmp(o->choices[k], value) == 0) return *out = k, CLI_OK;
    char list[256] = "";
    for (int k = 0; o->choices[k]; k++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", o->choices[k]);
    return cli_usage_error(cmd, "%s expects one of %s, got '%s'", o->name, list, value);
}

static int set_uints(const char* cmd, const cli_option* o, const char* value, cli_uint_list* out) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", value);
    out->count = 0;
    bool ok = true;
    for (char *tok = buf, *next = NULL; ok && tok; tok = next) { /* strtok would skip empty values */
        next = strchr(tok, ',');
        if (next) *next++ = 0;
        ok = out->count < o->max_count && read_uint(tok, o->min, o->max, &out->v[out->count++]);
    }
    if (!ok)
        return cli_usage_error(cmd, "%s expects up to %u comma-separated integers in %.0f..%.0f, got '%s'", o->name,
                               o->max_count, o->min, o->max, value);
    return CLI_OK;
}

/* Stores value (NULL for a flag) in the option's destination(s). */
static int set_value(const char* cmd, const cli_option* o, const char* value, char* base) {
    void* dest = base + o->offset;
    int rc = CLI_OK;
    switch (o->kind) {
    case CLI_OPT_FLAG:
        *(bool*)dest = true;
        break;
    case CLI_OPT_UINT:
        if (!read_uint(value, o->min, o->max, (uint32_t*)dest)) return range_error(cmd, o, value);
        break;
    case CLI_OPT_FLOAT:
        rc = set_float(cmd, o, value, (float*)dest);
        break;
    case CLI_OPT_STRING:
        *(const char**)dest = value;
        break;
    case CLI_OPT_CHOICE:
        rc = set_choice(cmd, o, value, (int*)dest);
        break;
    case CLI_OPT_UINTS:
        rc = set_uints(cmd, o, value, (cli_uint_list*)dest);
        break;
    case CLI_OPT_STRINGS: {
        cli_str_list* l = dest;
        if (l->count == o->max_count) return cli_usage_error(cmd, "at most %u %s options", o->max_count, o->name);
        l->v[l->count++] = value;
        break;
    }
    case CLI_OPT_CUSTOM:
        if (!o->parse(cmd, o->name, value, dest)) return CLI_USAGE;
        break;
    }
    if (rc == CLI_OK && o->twin) {
        size_t size = o->kind == CLI_OPT_FLOAT  ? sizeof(float)
                      : o->kind == CLI_OPT_UINT ? sizeof(uint32_t)
                                                : sizeof(bool);
        memcpy(base + o->twin_offset, dest, size);
        if (o->twin_offset2) memcpy(base + o->twin_offset2, dest, size);
    }
    return rc;
}

static int set_positional(const cli_spec* spec, uint32_t* counts, const char* arg, char* base) {
    for (uint32_t k = 0; k < spec->positional_count; k++) {
        const cli_positional* p = &spec->positionals[k];
        if (counts[k] == p->max) continue;
        if (p->max > 1) {
            cli_str_list* l = (cli_str_list*)(base + p->offset);
            l->v[l->count++] = arg;
        } else {
            *(const char**)(base + p->offset) = arg;
        }
        counts[k]++;
        return CLI_OK;
    }
    return cli_usage_error(spec->name, "unexpected argument '%s'", arg);
}

int cli_parse(const cli_spec* spec, int argc, char** argv, void* const bases[CLI_BASE_COUNT]) {
    uint32_t counts[CLI_LIST_MAX] = {0};
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (set_positional(spec, counts, a, bases[CLI_BASE_COMMAND]) != CLI_OK) return CLI_USAGE;
            continue;
        }
        const char* eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const cli_option* o = find_option(spec, a, len);
        if (!o) return cli_usage_error(spec->name, "unknown option '%.*s'", (int)len, a);
        const char* value = NULL;
        if (o->kind == CLI_OPT_FLAG && eq) return cli_usage_error(spec->name, "option %s takes no value", o->name);
        if (o->kind != CLI_OPT_FLAG) {
            if (!eq && i + 1 >= argc) return cli_usage_error(spec->name, "option %s needs a value", o->name);
            value = eq ? eq + 1 : argv[++i];
        }
        if (set_value(spec->name, o, value, bases[o->base]) != CLI_OK) return CLI_USAGE;
    }
    for (uint32_t k = 0; k < spec->positional_count; k++)
        if (counts[k] < spec->positionals[k].min)
            return cli_usage_error(spec->name, "%s is required", spec->positionals[k].what);
    return CLI_OK;
}

/* The default the spec shows for o: its own override, else the option's. */
static const char* shown_default(const cli_spec* spec, const cli_option* o) {
    for (const char* const* d = spec->defaults; d && d[0]; d += 2)
        if (strcmp(d[0], o->name) == 0) return d[1];
    return o->def;
}

void cli_print_help(const cli_spec* spec, FILE* out) {
    fprintf(out, "usage: vkrec %s", spec->name);
    for (uint32_t k = 0; k < spec->positional_count; k++) {
        const cli_positional* p = &spec->positionals[k];
        fprintf(out, " %s%s%s%s", p->min ? "" : "[", p->name, p->max > 1 ? "..." : "", p->min ? "" : "]");
    }
    fprintf(out, " [OPTIONS]\n%s\noptions:\n", spec->description);
    const cli_option* o = NULL;
    for (size_t k = 0; (o = option_at(spec, k)); k++) {
        char head[128], choices[128] = "";
        for (int c = 0; o->choices && o->choices[c]; c++)
            snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s", c ? "|" : "", o->choices[c]);
        snprintf(head, sizeof head, "%s%s%s", o->name, o->kind == CLI_OPT_FLAG ? "" : " ",
                 o->kind == CLI_OPT_CHOICE ? choices : o->metavar ? o->metavar : "");
        const char* def = shown_default(spec, o);
        fprintf(out, "  %-24s%s%s%s%s%s\n", head, strlen(head) >= 24 ? "\n                          " : "", o->help,
                def ? " (default " : "", def ? def : "", def ? ")" : "");
    }
}
