/* The main job's record: stage timings and backends, and RUN_DIR/report.md (see run_report.h). */
#include "run_report.h"

#include <stdio.h>
#include <string.h>

#include "cli_prepare.h"
#include "run_seeds.h"
#include "vkr_dist.h"
#include "vkr_file.h"

void run_stage_done(run_state* r, const char* name, const char* backend, double t0) {
    for (uint32_t i = 0; i < r->n; i++)
        if (strcmp(r->stages[i].name, name) == 0) { /* the same stage again (another seed): time adds up */
            r->stages[i].seconds += vkr_now_s() - t0;
            return;
        }
    if (r->n < RUN_MAX_STAGES) {
        snprintf(r->stages[r->n].name, sizeof r->stages[r->n].name, "%s", name);
        r->stages[r->n].backend = backend;
        r->stages[r->n++].seconds = vkr_now_s() - t0;
    }
}

/* Says which default protocols a domain could not honour (cli_stage_evaluate left them out), so a
 * missing row is explained in the report and not only on the terminal. */
static void run_report_skipped(FILE* f, const vkr_dataset* ds, const cli_rec_job* job) {
    uint32_t count = 0;
    const uint32_t* pairs = cli_rec_split_pairs(ds, job, &count);
    for (uint32_t d = 0; d < ds->domain_count; d++)
        for (uint32_t k = 0; k < job->protocol_count; k++)
            if (vkr_protocol_check(ds, d, pairs, count, &job->protocols[k]) != VKR_OK)
                fprintf(f, "\nNot reported: %s\n", vkr_last_error());
}

vkr_status run_report_write(const run_report_in* in, uint32_t* out_not_above_pop) {
    if (out_not_above_pop) *out_not_above_pop = 0;
    const vkr_dataset* ds = in->ds;
    const vkr_device_info* dev = in->dev;
    const cli_rec_job* job = in->job;
    char path[1100], data[512];
    snprintf(path, sizeof path, "%s/report.md", in->out);
    vkr_atomic_file w;
    VKR_TRY(vkr_atomic_open(path, &w));
    FILE* f = w.file;
    fprintf(f, "# vkrec run report\n\n");
    fprintf(f, "- vkrec %s; data: `%s` (%s)\n", vkr_version(), in->source, cli_prep_describe(ds, data, sizeof data));
    fprintf(f, "- device: %s (%s, %s)\n", dev ? dev->name : "CPU reference backend",
            dev ? vkr_device_type_name(dev->type) : "host", dev ? dev->driver_name : "OpenBLAS");
    if (vkr_dist_size() > 1) /* rank 0's device is named; every rank trains on its own */
        fprintf(f, "- data-parallel: %u ranks (MPI), each with an equal share of every batch\n", vkr_dist_size());
    fprintf(f, "- dataset: %u users, %u items, %llu interactions, %u domains (", ds->user_count, ds->item_count,
            (unsigned long long)ds->event_count, ds->domain_count);
    for (uint32_t d = 0; d < ds->domain_count; d++)
        fprintf(f, "%s%s %u items", d ? ", " : "", ds->domain_name[d], ds->item_begin[d + 1] - ds->item_begin[d]);
    fprintf(f, "); split %s\n", ds->split == VKR_SPLIT_LOO ? "leave-one-out" : "given");
    fprintf(f,
            "- SASRec: %s blocks with BCE, %s with CE, %u blocks, hidden %u, %u head(s), max_len %u, batch %u, length "
            "buckets %s, dropout %.2f, lr %g, up to %u epochs, "
            "patience %u (0: never stops), validated by HR@10 under %s, seed %llu\n",
            vkr_sasrec_arch_name(vkr_sasrec_arch_resolve(job->sasrec.arch, VKR_SASREC_BCE)),
            vkr_sasrec_arch_name(vkr_sasrec_arch_resolve(job->sasrec.arch, VKR_SASREC_CE)), job->sasrec.blocks,
            job->sasrec.hidden, job->sasrec.heads, job->sasrec.max_len, job->sasrec.batch,
            job->sasrec.buckets ? "auto" : "off", (double)job->sasrec.dropout, (double)job->sasrec.lr, job->sasrec.epochs, job->sasrec.patience,
            job->protocol_names[0], (unsigned long long)job->sasrec.seed);
    fprintf(f,
            "- GenCDR: %u blocks, hidden %u, %u heads, LoRA rank %u per domain with a learned gate, history items as "
            "%s, max_len %u, "
            "batch %u, dropout %.2f, lr %g, up to %u epochs, auxiliary next-item loss weight %g; semantic IDs from the RQ-VAE on the %s vectors (see data/item_emb.json and data/tokenizer.json); "
            "validated by full-protocol HR@10 averaged over domains; full ranking by constrained beam search of "
            "width %u over the target domain's trie (a target outside the beam is a miss); sampled candidates "
            "scored by semantic-ID log-likelihood\n",
            job->gencdr.blocks, job->gencdr.hidden, job->gencdr.heads, job->gencdr.lora_rank,
            job->gencdr.item_ids ? "code embeddings + a per-item embedding" : "code embeddings only",
            job->gencdr.max_len, job->gencdr.batch, (double)job->gencdr.dropout, (double)job->gencdr.lr,
            job->gencdr.epochs, (double)job->gencdr.aux_item, in->id_view ? in->id_view : "item", job->gencdr.beam);
    fprintf(f, "- evaluation: %s split; full = target against every item of its domain%s, sampled:N = against N "
               "negatives the user never interacted with; ties count against the target\n",
            job->split, job->exclude_history ? " but the user's earlier items (--exclude-history)"
                                             : ", the user's earlier items included");
    if (in->seed_count > 1) {
        fprintf(f, "- seeds: %u runs of every model, seeds", in->seed_count);
        for (uint32_t k = 0; k < in->seed_count; k++)
            fprintf(f, "%s %llu", k ? "," : "", (unsigned long long)(job->sasrec.seed + k));
        fprintf(f, " (initialisation, shuffling, dropout and negatives of SASRec and GenCDR); each seed also "
                   "learns its own semantic IDs (the RQ-VAE with seed 0, 1, ...: GenCDR's item vocabulary is part of "
                   "the model; seeds after the first in seed-N/data); the dataset and the text embedding are computed "
                   "once; the table shows mean ± sample standard deviation (n - 1) over the seeds, metrics.json every "
                   "seed's values (\"results\") and the summary; checkpoints in checkpoints/seed-N; beams and maps "
                   "from the first seed\n");
    }
    fprintf(f, "\n## Metrics\n\n");
    const cJSON* table = in->seed_count > 1 ? in->summary : in->results;
    run_seeds_table(f, table);
    uint32_t weak = run_seeds_vs_pop(f, table);
    if (out_not_above_pop) *out_not_above_pop = weak;
    run_report_skipped(f, in->ds, job);
    fprintf(f, "%s", in->curves_md ? in->curves_md : "");
    fprintf(f, "\n%s", in->maps_md ? in->maps_md : "");
    fprintf(f, "\n## Timings\n\n| stage | backend | seconds |\n|---|---|---:|\n");
    double total = 0;
    for (uint32_t i = 0; i < in->stages->n; i++) {
        const run_stage* st = &in->stages->stages[i];
        fprintf(f, "| %s | %s | %.1f |\n", st->name, st->backend, st->seconds);
        total += st->seconds;
    }
    fprintf(f, "| total | | %.1f |\n", total);
    return vkr_atomic_commit(&w);
}
