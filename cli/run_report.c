/* The main job's record: stage timings and backends, and RUN_DIR/report.md (see run_report.h). */
#include "run_report.h"

#include <stdio.h>

#include "vkr_file.h"

void run_stage_done(run_state* r, const char* name, const char* backend, double t0) {
    if (r->n < RUN_MAX_STAGES) {
        snprintf(r->stages[r->n].name, sizeof r->stages[r->n].name, "%s", name);
        r->stages[r->n].backend = backend;
        r->stages[r->n++].seconds = vkr_now_s() - t0;
    }
}

vkr_status run_report_write(const char* out, const vkr_dataset* ds, const vkr_device_info* dev, const cli_rec_job* job,
                         const run_state* r, const cJSON* results, const char* source, const char* maps_md) {
    char path[1100];
    snprintf(path, sizeof path, "%s/report.md", out);
    vkr_atomic_file w;
    VKR_TRY(vkr_atomic_open(path, &w));
    FILE* f = w.file;
    fprintf(f, "# vkrec run report\n\n");
    fprintf(f, "- vkrec %s; data: `%s`\n", vkr_version(), source);
    fprintf(f, "- device: %s (%s, %s)\n", dev ? dev->name : "CPU reference backend",
            dev ? vkr_device_type_name(dev->type) : "host", dev ? dev->driver_name : "OpenBLAS");
    fprintf(f, "- dataset: %u users, %u items, %llu interactions, %u domains (", ds->user_count, ds->item_count,
            (unsigned long long)ds->event_count, ds->domain_count);
    for (uint32_t d = 0; d < ds->domain_count; d++)
        fprintf(f, "%s%s %u items", d ? ", " : "", ds->domain_name[d], ds->item_begin[d + 1] - ds->item_begin[d]);
    fprintf(f, "); split %s\n", ds->split == VKR_SPLIT_LOO ? "leave-one-out" : "given");
    fprintf(f,
            "- SASRec: %s blocks with BCE, %s with CE, %u blocks, hidden %u, %u head(s), max_len %u, batch %u, dropout %.2f, lr %g, up to %u epochs, "
            "patience %u (0: never stops), validated by HR@10 under %s, seed %llu\n",
            vkr_sasrec_arch_name(vkr_sasrec_arch_resolve(job->sasrec.arch, VKR_SASREC_BCE)),
            vkr_sasrec_arch_name(vkr_sasrec_arch_resolve(job->sasrec.arch, VKR_SASREC_CE)), job->sasrec.blocks,
            job->sasrec.hidden, job->sasrec.heads, job->sasrec.max_len, job->sasrec.batch,
            (double)job->sasrec.dropout, (double)job->sasrec.lr, job->sasrec.epochs, job->sasrec.patience,
            job->protocol_names[0], (unsigned long long)job->sasrec.seed);
    fprintf(f,
            "- GenCDR: %u blocks, hidden %u, %u heads, LoRA rank %u per domain with a learned gate, history items as "
            "%s, max_len %u, "
            "batch %u, dropout %.2f, lr %g, up to %u epochs, auxiliary next-item loss weight %g; semantic IDs from the RQ-VAE (see data/tokenizer.json); "
            "validated by full-protocol HR@10 averaged over domains; full ranking by constrained beam search of "
            "width %u over the target domain's trie (a target outside the beam is a miss); sampled candidates "
            "scored by semantic-ID log-likelihood\n",
            job->gencdr.blocks, job->gencdr.hidden, job->gencdr.heads, job->gencdr.lora_rank,
            job->gencdr.item_ids ? "code embeddings + a per-item embedding" : "code embeddings only",
            job->gencdr.max_len, job->gencdr.batch, (double)job->gencdr.dropout, (double)job->gencdr.lr,
            job->gencdr.epochs, (double)job->gencdr.aux_item, job->gencdr.beam);
    fprintf(f, "- evaluation: %s split; full = target against every item of its domain%s, sampled:N = against N "
               "negatives the user never interacted with; ties count against the target\n\n",
            job->split, job->exclude_history ? " but the user's earlier items (--exclude-history)"
                                             : ", the user's earlier items included");
    fprintf(f, "## Metrics\n\n| model | domain | protocol | examples | HR@5 | HR@10 | NDCG@5 | NDCG@10 | MRR |\n");
    fprintf(f, "|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    const cJSON* it = NULL;
    cJSON_ArrayForEach(it, results) {
        fprintf(f, "| %s | %s | %s | %.0f | %.4f | %.4f | %.4f | %.4f | %.4f |\n",
                cJSON_GetObjectItem(it, "model")->valuestring, cJSON_GetObjectItem(it, "domain")->valuestring,
                cJSON_GetObjectItem(it, "protocol")->valuestring, cJSON_GetObjectItem(it, "examples")->valuedouble,
                cJSON_GetObjectItem(it, "hr5")->valuedouble, cJSON_GetObjectItem(it, "hr10")->valuedouble,
                cJSON_GetObjectItem(it, "ndcg5")->valuedouble, cJSON_GetObjectItem(it, "ndcg10")->valuedouble,
                cJSON_GetObjectItem(it, "mrr")->valuedouble);
    }
    fprintf(f, "\n%s", maps_md ? maps_md : "");
    fprintf(f, "\n## Timings\n\n| stage | backend | seconds |\n|---|---|---:|\n");
    double total = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        fprintf(f, "| %s | %s | %.1f |\n", r->stages[i].name, r->stages[i].backend, r->stages[i].seconds);
        total += r->stages[i].seconds;
    }
    fprintf(f, "| total | | %.1f |\n", total);
    return vkr_atomic_commit(&w);
}

