/* vkrec categories: domain-agnostic semantic categories of a dataset's items (derived from the item
 * embedding or imported), their domain mix, and DIR/agnostic.npy + DIR/agnostic.json. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"
#include "vkr_agnostic.h"
#include "vkr_clock.h"
#include "vkr_fileio.h"
#include "vkr_npy.h"

/* What `vkrec categories` reads from its command line. */
typedef struct categories_args {
    const char* dir;    /* dataset directory */
    uint32_t k;         /* --k */
    uint32_t sub;       /* --sub */
    const char* import; /* --import FILE */
} categories_args;

static const cli_positional categories_positionals[] = {
    {"DIR", "a dataset directory", offsetof(categories_args, dir), 1, 1}};
static const cli_option categories_opts[] = {
    CLI_UINT(COMMAND, "--k", "K", categories_args, k, 1, VKR_AGNOSTIC_MAX_K, "8", "categories"),
    CLI_UINT(COMMAND, "--sub", "M", categories_args, sub, 0, VKR_AGNOSTIC_MAX_K, "0",
             "subcategories per category (0: none)"),
    CLI_STRING(COMMAND, "--import", "FILE", categories_args, import, NULL,
               "read the categories from a CSV item,category[,subcategory] instead of deriving them"),
};
static const cli_option* const categories_shared[] = {&cli_opt_seed,      &cli_opt_device, &cli_opt_quiet,
                                                       &cli_opt_json_file, &cli_opt_force,  NULL};
const cli_spec cli_categories_spec = {
    .name = "categories",
    .description =
        "  K high-level categories shared across domains (SemaCDR's domain-agnostic semantics), without an\n"
        "  LLM: from DIR/item_emb.npy each domain's direction is removed (its mean subtracted, the span of\n"
        "  the between-domain directions projected out), rows re-normalized and clustered by k-means, each\n"
        "  category again into M subcategories. Zero rows get category none (-1). Or --import an LLM's CSV\n"
        "  `item,category[,subcategory]` (item keys as in the dataset, every item once, category none\n"
        "  allowed). Prints each category's size and domain mix with its balance: the normalized entropy of\n"
        "  the mix adjusted for domain sizes (1 = takes the same share of every domain, 0 = one domain),\n"
        "  and the size-weighted mean balance, also for plain k-means without the removal. Writes\n"
        "  DIR/agnostic.npy (items x 2 int32: category, subcategory; -1 = none) and DIR/agnostic.json,\n"
        "  replaced together.",
    CLI_POSITIONALS(categories_positionals),
    CLI_OWN_OPTIONS(categories_opts),
    .shared = categories_shared,
    .defaults = (const char* const[]){"--seed", "0", NULL},
};

/* A category's JSON: id, name, items, per-domain counts and shares, balance, subcategories. */
static cJSON* category_json(const vkr_agnostic* a, const vkr_agnostic_mix* mix, const vkr_dataset* d, uint32_t c) {
    cJSON* o = cJSON_CreateObject();
    bool none = c == a->k;
    cJSON_AddNumberToObject(o, "id", none ? VKR_AGNOSTIC_NONE : (double)c);
    cJSON_AddStringToObject(o, "name", none ? "none" : a->names[c]);
    const uint32_t* cnt = mix->count + (size_t)c * mix->domain_count;
    uint32_t size = 0;
    for (uint32_t e = 0; e < mix->domain_count; e++) size += cnt[e];
    cJSON_AddNumberToObject(o, "items", size);
    cJSON* doms = cJSON_AddObjectToObject(o, "domains");
    for (uint32_t e = 0; e < mix->domain_count; e++) {
        cJSON* de = cJSON_AddObjectToObject(doms, d->domain_name[e]);
        cJSON_AddNumberToObject(de, "items", cnt[e]);
        cJSON_AddNumberToObject(de, "share", size ? (double)cnt[e] / size : 0);
    }
    if (none) return o;
    cJSON_AddNumberToObject(o, "balance", mix->balance[c]);
    if (!a->m) return o;
    cJSON* subs = cJSON_AddArrayToObject(o, "subcategories");
    uint32_t* sub_size = calloc(a->m, sizeof *sub_size);
    for (uint32_t i = 0; sub_size && i < a->n; i++)
        if (a->assign[2 * (size_t)i] == (int32_t)c && a->assign[2 * (size_t)i + 1] >= 0)
            sub_size[a->assign[2 * (size_t)i + 1]]++;
    for (uint32_t s = 0; s < a->m; s++) {
        const char* name = a->sub_names[(size_t)c * a->m + s];
        if (!name) continue;
        cJSON* so = cJSON_CreateObject();
        cJSON_AddNumberToObject(so, "id", s);
        cJSON_AddStringToObject(so, "name", name);
        cJSON_AddNumberToObject(so, "items", sub_size ? sub_size[s] : 0);
        cJSON_AddItemToArray(subs, so);
    }
    free(sub_size);
    return o;
}

/* Writes DIR/agnostic.npy and DIR/agnostic.json as one unit (both replaced, or neither). */
static vkr_status categories_commit(const char* dir, const vkr_agnostic* a, const cJSON* j) {
    vkr_stage st;
    vkr_stage_init(&st);
    const char *tmp_npy = NULL, *tmp_json = NULL;
    char npy[4200], json[4200];
    snprintf(npy, sizeof npy, "%s/agnostic.npy", dir);
    snprintf(json, sizeof json, "%s/agnostic.json", dir);
    VKR_TRY(vkr_temps_clean(dir, NULL)); /* a killed earlier run's */
    vkr_status s = vkr_stage_add(&st, npy, &tmp_npy);
    if (s == VKR_OK) s = vkr_stage_add(&st, json, &tmp_json);
    uint64_t shape[2] = {a->n, 2};
    if (s == VKR_OK) s = vkr_npy_save(tmp_npy, VKR_ELEM_I32, 2, shape, a->assign);
    if (s == VKR_OK) s = vkr_json_write(j, tmp_json);
    if (s == VKR_OK) return vkr_stage_commit(&st);
    vkr_stage_abort(&st);
    return s;
}

static void print_table(const vkr_agnostic* a, const vkr_agnostic_mix* mix, const vkr_dataset* d) {
    printf("%4s %-24s %8s", "id", "category", "items");
    for (uint32_t e = 0; e < d->domain_count; e++) printf(" %10.10s", d->domain_name[e]);
    printf(" %8s\n", "balance");
    for (uint32_t c = 0; c <= a->k; c++) {
        const uint32_t* cnt = mix->count + (size_t)c * mix->domain_count;
        uint32_t size = 0;
        for (uint32_t e = 0; e < d->domain_count; e++) size += cnt[e];
        if (c == a->k && !size) break;
        if (c == a->k) printf("%4s %-24s %8u", "-1", "none", size);
        else printf("%4u %-24.24s %8u", c, a->names[c], size);
        for (uint32_t e = 0; e < d->domain_count; e++) printf(" %9.1f%%", size ? 100.0 * cnt[e] / size : 0);
        if (c < a->k) printf(" %8.3f", mix->balance[c]);
        printf("\n");
    }
}

/* Derives (plain: without removing domain directions) or imports, and measures the domain mix. */
static vkr_status categorize(vkr_device* dev, const vkr_dataset* d, const vkr_npy_array* emb, const categories_args* c,
                             uint32_t seed, bool plain, vkr_agnostic* a, vkr_agnostic_mix* mix, double* seconds) {
    double t0 = vkr_now_s();
    vkr_agnostic_options o = {.k = c->k, .sub = plain ? 0 : c->sub, .keep_domains = plain, .seed = seed};
    vkr_status s = c->import ? vkr_agnostic_import(d, c->import, a)
                             : vkr_agnostic_derive(dev, emb->data, d->item_count, (uint32_t)emb->shape[1],
                                                   d->item_domain, d->domain_count, &o, a);
    *seconds = vkr_now_s() - t0;
    if (s == VKR_OK) s = vkr_agnostic_mix_compute(a, d->item_domain, d->domain_count, mix);
    return s;
}

int cli_cmd_categories(int argc, char** argv) {
    const char* cmd = "categories";
    cli_common com = {0};
    categories_args c = {0};
    if (cli_parse(&cli_categories_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &c}) != CLI_OK)
        return CLI_USAGE;
    if (c.import && (c.k || c.sub || com.seed))
        return cli_usage_error(cmd, "--k, --sub and --seed shape derived categories; with --import the file "
                               "decides them");
    if (!c.k) c.k = 8; /* 0: not given (the option's range starts at 1) */
    if (com.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    char emb_path[4200];
    snprintf(emb_path, sizeof emb_path, "%s/item_emb.npy", c.dir);
    const char* inputs[] = {c.dir, emb_path, c.import};
    if (com.json_file &&
        cli_output_check(cmd, "--json", com.json_file, inputs, 3, CLI_OUTPUT_JSON, NULL, com.force) != CLI_OK)
        return CLI_USAGE;
    vkr_dataset d;
    vkr_status s = vkr_dataset_load(c.dir, &d);
    if (s != VKR_OK) return cli_fail(cmd, s);
    vkr_npy_array emb = {0};
    if (!c.import) {
        s = vkr_npy_load_f32(emb_path, &emb);
        uint64_t want[2] = {d.item_count, VKR_DIM_ANY};
        if (s == VKR_OK) s = vkr_npy_check(&emb, emb_path, VKR_ELEM_F32, 2, want);
        if (s != VKR_OK) s = vkr_fail_context(s, "categories need the item embedding (vkrec embed DIR): ");
    }
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    if (s == VKR_OK && !c.import) s = cli_open_backend(com.device, &inst, &dev);
    vkr_agnostic a = {0}, plain = {0};
    vkr_agnostic_mix mix = {0}, plain_mix = {0};
    double secs = 0, plain_secs = 0;
    if (s == VKR_OK) s = categorize(dev, &d, &emb, &c, com.seed, false, &a, &mix, &secs);
    if (s == VKR_OK && !c.import) s = categorize(dev, &d, &emb, &c, com.seed, true, &plain, &plain_mix, &plain_secs);
    cJSON* j = cJSON_CreateObject();
    if (s == VKR_OK) {
        cJSON_AddStringToObject(j, "method", c.import ? "import" : "kmeans-domain-removed");
        if (c.import) cJSON_AddStringToObject(j, "source", c.import);
        else cJSON_AddStringToObject(j, "device", cli_backend_name(dev));
        if (!c.import) cJSON_AddNumberToObject(j, "seed", com.seed);
        cJSON_AddNumberToObject(j, "K", a.k);
        cJSON_AddNumberToObject(j, "M", a.m);
        cJSON_AddNumberToObject(j, "items", a.n);
        cJSON_AddNumberToObject(j, "none", mix.none);
        cJSON* names = cJSON_AddArrayToObject(j, "names");
        for (uint32_t k = 0; k < a.k; k++) cJSON_AddItemToArray(names, cJSON_CreateString(a.names[k]));
        cJSON_AddNumberToObject(j, "agnostic", mix.overall);
        if (!c.import) cJSON_AddNumberToObject(j, "agnostic_without_removal", plain_mix.overall);
        cJSON_AddNumberToObject(j, "seconds", secs);
        cJSON* cats = cJSON_AddArrayToObject(j, "categories");
        for (uint32_t k = 0; k <= a.k; k++) cJSON_AddItemToArray(cats, category_json(&a, &mix, &d, k));
        s = categories_commit(c.dir, &a, j);
    }
    if (s == VKR_OK && com.json_file) s = vkr_json_write(j, com.json_file);
    if (s == VKR_OK && !com.quiet) {
        if (c.import) printf("%u categories imported from %s (%u items, %u in none)\n", a.k, c.import, a.n, mix.none);
        else printf("%u categories (%u subcategories each) of %u items on %s in %.2f s (%u in none)\n", a.k, a.m,
                    a.n, cli_backend_name(dev), secs, mix.none);
        print_table(&a, &mix, &d);
        printf("domain-agnostic figure (size-weighted balance, 1 = every category mixes the domains evenly): %.3f",
               mix.overall);
        if (!c.import) printf("; plain k-means without removing domain directions: %.3f (%.2f s)", plain_mix.overall,
                              plain_secs);
        printf("\n");
    }
    cJSON_Delete(j);
    vkr_agnostic_mix_free(&mix), vkr_agnostic_mix_free(&plain_mix);
    vkr_agnostic_free(&a), vkr_agnostic_free(&plain);
    if (dev) cli_close_device(inst, dev);
    vkr_npy_free(&emb);
    vkr_dataset_free(&d);
    return s == VKR_OK ? CLI_OK : cli_fail(cmd, s);
}
