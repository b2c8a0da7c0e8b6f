/* The zero-shot stage (LLM-RecG): text-only SASRec trained on the source domains' events alone,
 * evaluated on every other domain beside pop in that domain (the floor) and the same model trained on
 * that domain (the ceiling). */
#include <stdlib.h>
#include <string.h>

#include "cli_json.h"
#include "cli_stages.h"

/* --train-domains into domain bits; INVALID_ARGUMENT naming an unknown domain. */
static vkr_status zs_domains(const vkr_dataset* ds, const char* list, uint32_t* out) {
    *out = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char* tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int d = vkr_dataset_domain_index(ds, tok);
        if (d < 0 || d >= 32) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--train-domains: '%s' is not a domain", tok);
        *out |= 1u << d;
    }
    if (!*out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--train-domains: no domain");
    return VKR_OK;
}

/* Refuses item vectors made from interactions: co-occurrence vectors of the target's items would carry
 * its interactions into a model that must never see them (item_emb.json, written by vkrec embed,
 * counts them; imported vectors are the user's word). */
static vkr_status zs_check_content(const char* data_dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/item_emb.json", data_dir);
    cJSON* j = cli_json_read(path);
    const cJSON* cooc = cJSON_GetObjectItem(j, "cooc_items");
    double n = cJSON_IsNumber(cooc) ? cooc->valuedouble : 0;
    cJSON_Delete(j);
    if (n > 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "zero-shot: %s/item_emb.npy holds %.0f co-occurrence vectors, made from "
                        "interactions (the target's included); embed the items from their text alone (vkrec embed %s "
                        "--source text) or import an encoder's", data_dir, n, data_dir);
    return VKR_OK;
}

/* Evaluates scorer on `domain` and tags the rows it added with the domains whose interactions the
 * model learned from (`from`) and whether that excludes `domain` (zero_shot). */
static vkr_status zs_evaluate(const vkr_dataset* ds, const vkr_scorer* sc, const cli_rec_job* job, const char* label,
                              uint32_t domain, double train_s, const char* from, bool zero_shot, cJSON* results,
                              FILE* table) {
    int before = results ? cJSON_GetArraySize(results) : 0;
    VKR_TRY(cli_stage_evaluate(ds, sc, job, label, domain, train_s, NULL, results, table));
    for (int k = before; results && k < cJSON_GetArraySize(results); k++) {
        cJSON_AddStringToObject(cJSON_GetArrayItem(results, k), "trained_on", from);
        cJSON_AddBoolToObject(cJSON_GetArrayItem(results, k), "zero_shot", zero_shot);
    }
    return VKR_OK;
}

/* Trains one source model (item alignment on or off) and reports it, and with the sequence-level
 * alignment where asked, on every target in [first, last) outside the sources. */
static vkr_status zs_model(vkr_device* dev, const vkr_dataset* ds, const cli_rec_job* job, const vkr_sasrec_train* base,
                           bool item, bool plain, bool seq, uint32_t first, uint32_t last, const char* from,
                           cJSON* results, FILE* table) {
    vkr_sasrec_train t = *base;
    t.align_items = item ? job->align_items : 0;
    vkr_sasrec_model src = {0};
    if (!job->quiet) fprintf(stderr, "training text-only %s on %s%s\n", t.gru ? "GRU4Rec" : "SASRec", from, item ? " with item alignment" : "");
    VKR_TRY(vkr_sasrec_fit(ds, dev, &t, &src));
    vkr_status s = VKR_OK;
    float** items_out = job->zero_shot_tables_out ? &job->zero_shot_tables_out[item] : NULL;
    if (items_out && !*items_out) { /* the maps of vkrec run: the items before and after the alignment */
        float* v = malloc((size_t)ds->item_count * t.hidden * sizeof *v);
        s = v ? vkr_sasrec_item_table(&src, v) : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        if (s == VKR_OK) *items_out = v;
        else free(v);
    }
    for (uint32_t d = first; d < last && s == VKR_OK; d++) {
        if ((t.train_domains >> d) & 1u) continue;
        for (int with_seq = 0; with_seq < 2 && s == VKR_OK; with_seq++) {
            if (!(with_seq ? seq : plain)) continue;
            vkr_sasrec_model zs;
            s = vkr_sasrec_zero_shot(&src, d, with_seq ? job->seq_clusters : 0, t.seq_mix, &zs);
            char label[48];
            snprintf(label, sizeof label, "zs-%s%s%s%s", t.gru ? "gru" : "sem", t.semantic_mlp ? "-mlp" : "",
                     item ? "+item" : "", with_seq ? "+seq" : "");
            vkr_scorer sc = vkr_sasrec_scorer(&zs);
            if (s == VKR_OK) s = zs_evaluate(ds, &sc, job, label, d, src.fit.seconds, from, true, results, table);
            vkr_sasrec_model_free(&zs);
        }
    }
    vkr_sasrec_model_free(&src);
    return s;
}

/* Pop in domain d: the floor, counting d's own training interactions. */
static vkr_status zs_pop(const vkr_dataset* ds, const cli_rec_job* job, uint32_t d, cJSON* results, FILE* table) {
    vkr_pop pop = {0};
    vkr_status s = vkr_pop_fit(ds, d, &pop);
    vkr_scorer sc = vkr_pop_scorer(&pop);
    if (s == VKR_OK) s = zs_evaluate(ds, &sc, job, "pop", d, 0, ds->domain_name[d], false, results, table);
    vkr_pop_free(&pop);
    return s;
}

/* GenCDR decoding a domain it never trained on over that domain's trie: the semantic IDs of
 * DIR/semantic_ids.npy (a tokenizer of the item content), codes only, trained on the mask's events. */
static vkr_status zs_gencdr(vkr_device* dev, const vkr_dataset* ds, const cli_rec_job* job, uint32_t mask,
                            uint32_t first, uint32_t last, const char* from, cJSON* results, FILE* table) {
    uint16_t* ids = NULL;
    uint32_t depth = 0;
    VKR_TRY(vkr_gencdr_load_ids(job->data_dir, ds, &ids, &depth));
    vkr_gencdr_train t = job->gencdr;
    t.history_domains = mask;
    t.item_ids = false; /* a per-item embedding of the target's items would never train */
    t.aux_item = 0;
    t.item_views = 0;
    t.quiet = job->quiet;
    t.ckpt_dir = NULL;
    t.resume = false;
    vkr_gencdr_model m = {0};
    if (!job->quiet) fprintf(stderr, "training GenCDR (codes only) on %s\n", from);
    vkr_status s = vkr_gencdr_fit(ds, dev, ids, depth, &t, &m);
    for (uint32_t d = first; d < last && s == VKR_OK; d++) {
        if ((mask >> d) & 1u) continue;
        s = vkr_gencdr_zero_shot(&m, d);
        vkr_scorer sc = vkr_gencdr_scorer(&m, d);
        if (s == VKR_OK) s = zs_evaluate(ds, &sc, job, "zs-gencdr", d, m.fit.seconds, from, true, results, table);
    }
    vkr_gencdr_model_free(&m);
    for (uint32_t d = first; d < last && s == VKR_OK; d++) {
        if ((mask >> d) & 1u) continue;
        s = zs_pop(ds, job, d, results, table);
        if (s != VKR_OK || job->no_ceiling) continue;
        vkr_gencdr_train c = t; /* the ceiling: the same codes-only model trained on the target's events */
        c.history_domains = 1u << d;
        vkr_gencdr_model cm = {0};
        if (!job->quiet) fprintf(stderr, "training GenCDR (codes only) on %s (the ceiling)\n", ds->domain_name[d]);
        s = vkr_gencdr_fit(ds, dev, ids, depth, &c, &cm);
        vkr_scorer sc = vkr_gencdr_scorer(&cm, d);
        if (s == VKR_OK)
            s = zs_evaluate(ds, &sc, job, "gencdr-on-target", d, cm.fit.seconds, ds->domain_name[d], false, results, table);
        vkr_gencdr_model_free(&cm);
    }
    free(ids);
    return s;
}

/* Text-only SASRec (or GRU4Rec) from the mask's events: the --zero-shot-models, pop and the ceiling. */
static vkr_status zs_sasrec(vkr_device* dev, const vkr_dataset* ds, const cli_rec_job* job, uint32_t mask,
                            uint32_t first, uint32_t last, const char* from, cJSON* results, FILE* table) {
    /* vkrec run embeds the text alone in memory (semacdr_items); else DIR/item_emb.npy */
    cli_sema_inputs in = {0};
    if (!job->semacdr_items) VKR_TRY(cli_sema_inputs_load(ds, job->data_dir, NULL, VKR_ITEM_VIEW_INNER, &in));
    vkr_sasrec_train t = job->sasrec;
    t.train_domains = mask;
    t.semantic_only = true;
    t.item_views = VKR_ITEM_VIEW_INNER;
    t.semantics = job->semacdr_items ? job->semacdr_items : &in.items;
    t.mixed_input = false;
    t.quiet = job->quiet;
    t.ckpt_dir = NULL;
    t.resume = false;
    t.domain = 0;
    while (!((mask >> t.domain) & 1u)) t.domain++; /* validation: the first training domain */
    vkr_status s = VKR_OK;
    for (uint32_t d = first; d < last && s == VKR_OK; d++) { /* all-zero vectors: no item of d can be told apart */
        bool any = false;
        for (uint32_t i = ds->item_begin[d]; i < ds->item_begin[d + 1] && !any; i++)
            for (uint32_t k = 0; k < t.semantics->text_dim && !any; k++) any = t.semantics->text[(size_t)i * t.semantics->text_dim + k] != 0;
        if (!any) s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "zero-shot: no item of domain %s has a text vector", ds->domain_name[d]);
    }
    uint32_t v = job->zero_shot_variants;
    if (s == VKR_OK && (v & (CLI_ZS_BASE | CLI_ZS_SEQ)))
        s = zs_model(dev, ds, job, &t, false, v & CLI_ZS_BASE, v & CLI_ZS_SEQ, first, last, from, results, table);
    if (s == VKR_OK && (v & (CLI_ZS_ITEM | CLI_ZS_ITEM_SEQ)))
        s = zs_model(dev, ds, job, &t, true, v & CLI_ZS_ITEM, v & CLI_ZS_ITEM_SEQ, first, last, from, results, table);
    for (uint32_t d = first; d < last && s == VKR_OK; d++) {
        if ((mask >> d) & 1u) continue;
        s = zs_pop(ds, job, d, results, table);
        if (s != VKR_OK || job->no_ceiling) continue;
        vkr_sasrec_train c = t; /* the ceiling: the same text-only model trained on the target itself */
        c.train_domains = 0;
        c.domain = d;
        vkr_sasrec_model m = {0};
        if (!job->quiet) fprintf(stderr, "training text-only %s on %s (the ceiling)\n", c.gru ? "GRU4Rec" : "SASRec", ds->domain_name[d]);
        s = vkr_sasrec_fit(ds, dev, &c, &m);
        vkr_scorer ms = vkr_sasrec_scorer(&m);
        if (s == VKR_OK)
            s = zs_evaluate(ds, &ms, job, c.gru ? "gru-on-target" : "sem-on-target", d, m.fit.seconds, ds->domain_name[d],
                            false, results, table);
        vkr_sasrec_model_free(&m);
    }
    cli_sema_inputs_free(&in);
    return s;
}

vkr_status cli_stage_zero_shot(vkr_device* dev, const vkr_dataset* ds, const cli_rec_job* job, uint32_t first,
                               uint32_t last, cJSON* results, FILE* table) {
    bool gencdr = strcmp(job->model, "gencdr") == 0;
    if (!gencdr && strcmp(job->model, "sasrec") != 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--train-domains (zero-shot) trains text-only SASRec or GenCDR; %s has "
                        "no zero-shot mode", job->model);
    uint32_t mask;
    VKR_TRY(zs_domains(ds, job->train_domains, &mask));
    uint32_t targets = 0;
    for (uint32_t d = first; d < last; d++) targets += !((mask >> d) & 1u);
    if (!targets)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--train-domains %s: no other domain%s to transfer to",
                        job->train_domains, last - first == 1 ? " (--target is a training domain)" : "");
    /* the item vectors (and the semantic IDs learned from them) must come from content alone */
    if (!job->semacdr_items) VKR_TRY(zs_check_content(job->data_dir));
    char from[256] = "";
    for (uint32_t d = 0; d < ds->domain_count; d++)
        if ((mask >> d) & 1u) snprintf(from + strlen(from), sizeof from - strlen(from), "%s%s", *from ? "," : "", ds->domain_name[d]);
    return gencdr ? zs_gencdr(dev, ds, job, mask, first, last, from, results, table)
                  : zs_sasrec(dev, ds, job, mask, first, last, from, results, table);
}
