/* vkrec train: train a recommender for one or every target domain and evaluate it; also the
 * recommender options it shares with `vkrec run` (cli_rec_group). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_output.h"
#include "vkr_file.h"
#include "vkr_fileio.h"
#include "cli_rec.h"
#include "cli_stages.h"
#include "run_seeds.h"
#include "vkr_beam.h"
#include "vkr_npy.h"

/* --protocol full,sampled:N,...: the protocols to report, in order. */
static bool parse_protocols(const char* cmd, const char* option, const char* value, void* dest) {
    cli_rec_job* job = dest;
    job->protocol_count = 0;
    job->protocols_given = true;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", value);
    for (char* tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (job->protocol_count == CLI_MAX_PROTOCOLS)
            return cli_usage_error(cmd, "%s: at most %d protocols", option, CLI_MAX_PROTOCOLS), false;
        if (vkr_protocol_parse(tok, &job->protocols[job->protocol_count]) != VKR_OK)
            return cli_usage_error(cmd, "%s: %s", option, vkr_last_error()), false;
        snprintf(job->protocol_names[job->protocol_count++], 32, "%s", tok);
    }
    if (!job->protocol_count) return cli_usage_error(cmd, "%s expects full, sampled:N, ...", option), false;
    return true;
}

/* A comma-separated list of names into the OR of their bits (names[k] has bits[k]); false after a
 * usage error naming the unknown one (a `what`). */
static bool parse_name_bits(const char* cmd, const char* option, const char* value, const char* what,
                            const char* const* names, const uint32_t* bits, uint32_t* out) {
    char buf[128], expected[128] = "";
    snprintf(buf, sizeof buf, "%s", value);
    for (int k = 0; names[k]; k++) snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s",
                                            k ? ", " : "", names[k]);
    for (char* tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int k = 0;
        while (names[k] && strcmp(tok, names[k]) != 0) k++;
        if (!names[k]) return cli_usage_error(cmd, "%s: unknown %s '%s' (expected %s)", option, what, tok, expected), false;
        *out |= bits[k];
    }
    return true;
}

/* --item-views id,inner,agnostic: SemaCDR's item views (the ID view is always on). */
static bool parse_views(const char* cmd, const char* option, const char* value, void* dest) {
    static const char* const names[] = {"id", "inner", "agnostic", NULL};
    static const uint32_t bits[] = {VKR_ITEM_VIEW_ID, VKR_ITEM_VIEW_INNER, VKR_ITEM_VIEW_AGNOSTIC};
    *(uint32_t*)dest = VKR_ITEM_VIEW_ID;
    return parse_name_bits(cmd, option, value, "view", names, bits, dest);
}

bool cli_parse_tasks(const char* cmd, const char* option, const char* value, void* dest) {
    enum { SEQREC = 1u << 16 };
    static const char* const names[] = {"seqrec", "item2index", "index2item", "collab", NULL};
    static const uint32_t bits[] = {SEQREC, VKR_GENCDR_TASK_ITEM2INDEX, VKR_GENCDR_TASK_INDEX2ITEM,
                                    VKR_GENCDR_TASK_COLLAB};
    uint32_t* tasks = dest;
    *tasks = 0;
    if (!parse_name_bits(cmd, option, value, "task", names, bits, tasks)) return false;
    if (!(*tasks & SEQREC))
        return cli_usage_error(cmd, "%s: seqrec (next-item prediction, what the model is evaluated on) must be one "
                               "of the tasks", option), false;
    *tasks &= ~SEQREC;
    return true;
}

/* --zero-shot base,item,seq,item+seq: which zero-shot models to report. */
static bool parse_zero_shot(const char* cmd, const char* option, const char* value, void* dest) {
    static const char* const names[] = {"base", "item", "seq", "item+seq", NULL};
    static const uint32_t bits[] = {CLI_ZS_BASE, CLI_ZS_ITEM, CLI_ZS_SEQ, CLI_ZS_ITEM_SEQ};
    *(uint32_t*)dest = 0;
    return parse_name_bits(cmd, option, value, "model", names, bits, dest);
}

static const char* const loss_choices[] = {"auto", "bce", "ce", "bpr", NULL}; /* in cli_loss's order */
static const char* const arch_choices[] = {"auto", "original", "prenorm", NULL};
static const char* const input_choices[] = {"target", "mixed", NULL};
static const char* const split_choices[] = {"test", "valid", NULL};
static const char* const encoder_choices[] = {"transformer", "gru", NULL};
static const char* const bucket_choices[] = {"auto", "off", NULL};
static const char* const adapter_choices[] = {"linear", "mlp", NULL};
static const char* const trie_choices[] = {"domain", "global", NULL};

/* A number set in the SASRec, GenCDR and SemaCDR settings. */
#define REC_BOTH(KIND, NAME, META, FIELD, MIN, MAX, OPEN, DEF, HELP)                                                   \
    {                                                                                                                  \
        .name = NAME, .metavar = META, .kind = KIND, .base = CLI_BASE_SHARED,                                          \
        .offset = offsetof(cli_rec_args, job.sasrec.FIELD), .twin = true,                                              \
        .twin_offset = offsetof(cli_rec_args, job.gencdr.FIELD),                                                       \
        .twin_offset2 = offsetof(cli_rec_args, job.semacdr.FIELD), .min = MIN, .max = MAX, .open = OPEN, .def = DEF,   \
        .help = HELP                                                                                                   \
    }
static const cli_option rec_options[] = {
    CLI_CHOICE(SHARED, "--loss", cli_rec_args, loss, loss_choices, "auto",
               "SASRec: sampled bce (auto) or full-softmax ce; SemaCDR: softmax ce over the target domain's items "
               "(auto) or the paper's bpr with one sampled negative (labelled -bpr)"),
    CLI_CHOICE(SHARED, "--arch", cli_rec_args, arch, arch_choices, "auto",
               "SASRec blocks: the paper's (Glorot init, q = LN(x) over x, ReLU) or pre-norm GELU; auto: original for "
               "bce, prenorm for ce"),
    CLI_CHOICE(SHARED, "--encoder", cli_rec_args, encoder, encoder_choices, "transformer",
               "SASRec's sequence encoder: its transformer, or GRU4Rec's GRU (rows gru4rec-...; --blocks, --heads and "
               "--arch do not apply)"),
    CLI_CHOICE(SHARED, "--buckets", cli_rec_args, buckets, bucket_choices, "auto",
               "SASRec and GRU4Rec training: auto groups batches by history length, runs each on the shortest "
               "window of 8, 16, 32, ... --max-len that holds its longest history (the full window's loss, less "
               "padding) and weighs it by its labelled positions; off pads every batch to --max-len"),
    CLI_CHOICE(SHARED, "--input", cli_rec_args, input, input_choices, "target",
               "SASRec history: the target domain's items or every domain's"),
    CLI_CUSTOM(SHARED, "--protocol", "P,...", cli_rec_args, job, parse_protocols, "full,sampled:100,sampled:999",
               "full ranks against every item of the domain; sampled:N against N unseen negatives (seeded)"),
    CLI_CHOICE(SHARED, "--split", cli_rec_args, split, split_choices, "test", "the split to evaluate"),
    CLI_UINTS(SHARED, "--cutoffs", "K,...", cli_rec_args, job.cutoffs, 1, VKR_METRICS_MAX_CUTOFF, CLI_MAX_CUTOFFS,
              "5,10", "report HR@K and NDCG@K for each K (e.g. 1,5,10,20,50; sorted, repeats dropped)"),
    CLI_FLAG(SHARED, "--exclude-history", cli_rec_args, job.exclude_history,
             "full protocol: leave the user's earlier items (not the target) out of the ranking"),
    REC_BOTH(CLI_OPT_UINT, "--epochs", "N", epochs, 1, CLI_UINT_LIMIT, 0, "20", "most epochs"),
    REC_BOTH(CLI_OPT_UINT, "--batch", "N", batch, 1, CLI_UINT_LIMIT, 0, "128; GenCDR 64; SemaCDR 256",
             "training sequences per step"),
    REC_BOTH(CLI_OPT_UINT, "--hidden", "N", hidden, 1, CLI_UINT_LIMIT, 0, "64", "model width"),
    REC_BOTH(CLI_OPT_UINT, "--blocks", "N", blocks, 1, CLI_UINT_LIMIT, 0, "2", "transformer blocks"),
    REC_BOTH(CLI_OPT_UINT, "--heads", "N", heads, 1, CLI_UINT_LIMIT, 0, "1; GenCDR 2", "attention heads"),
    REC_BOTH(CLI_OPT_UINT, "--max-len", "N", max_len, 1, CLI_UINT_LIMIT, 0, "50; GenCDR 20; SemaCDR 20", "history window in items"),
    REC_BOTH(CLI_OPT_FLOAT, "--dropout", "P", dropout, 0, 1, CLI_MAX_OPEN, "0.2; GenCDR 0.1; SemaCDR 0.2", "dropout rate"),
    REC_BOTH(CLI_OPT_FLOAT, "--lr", "X", lr, 0, 10, CLI_MAX_OPEN, "0.001; GenCDR 0.002", "AdamW peak learning rate"),
    REC_BOTH(CLI_OPT_UINT, "--patience", "N", patience, 0, CLI_UINT_LIMIT, 0, "3",
             "early stopping after N epochs without a better validation HR@10 (best parameters kept); 0: never"),
    CLI_UINT(SHARED, "--beam", "W", cli_rec_args, job.gencdr.beam, 1, VKR_BEAM_MAX_WIDTH, "20",
             "GenCDR: beam width of the full ranking and of recommendations"),
    CLI_CHOICE(SHARED, "--trie", cli_rec_args, trie, trie_choices, "domain",
               "GenCDR: decode over the target domain's IDs or every domain's"),
    CLI_UINT(SHARED, "--decoder-hidden", "N", cli_rec_args, job.gencdr.decoder_hidden, 0, CLI_UINT_LIMIT, "0",
             "GenCDR: width of each level's decoder MLP (0: --hidden)"),
    CLI_UINT(SHARED, "--lora-rank", "R", cli_rec_args, job.gencdr.lora_rank, 0, 256, "8",
             "GenCDR: rank of the per-domain adapters (0: universal model only)"),
    CLI_FLOAT(SHARED, "--aux-item", "W", cli_rec_args, job.gencdr.aux_item, 0, 100, 0, "0",
              "GenCDR: weight of an auxiliary next-item softmax that shapes the encoder (ranking stays by "
              "decoding IDs; not with --codes-only)"),
    CLI_FLAG(SHARED, "--codes-only", cli_rec_args, codes_only,
             "GenCDR: history items as code embeddings only (no per-item embedding; the ablation)"),
    CLI_CUSTOM(SHARED, "--item-views", "V,...", cli_rec_args, item_views, parse_views,
               "SemaCDR id,inner,agnostic; SASRec, GenCDR id",
               "item views (id always; inner = DIR/item_emb.npy through a projection, agnostic = categories); "
               "SASRec (its item table) and GenCDR (its per-item embedding) add the inner and agnostic views through "
               "learned gates starting at 0, and their InfoNCE"),
    CLI_CUSTOM(SHARED, "--tasks", "T,...", cli_rec_args, job.gencdr.tasks, cli_parse_tasks, "seqrec",
               "GenCDR's training tasks: seqrec (next item, always), item2index (an item's text vector decodes its "
               "ID), index2item (its ID regresses its text vector; both read DIR/item_emb.npy), collab (an item's "
               "ID decodes the next item's, GRLM)"),
    CLI_FLOAT(SHARED, "--task-weight", "W", cli_rec_args, job.gencdr.task_weight, 0, 100, 0, "1",
              "GenCDR: weight of each task beside seqrec"),
    CLI_FLOAT(SHARED, "--lambda", "X", cli_rec_args, lambda, 0, 100, 0, "0.1",
              "SemaCDR, and SASRec and GenCDR with --item-views: weight of the InfoNCE between item views (0: none)"),
    CLI_FLOAT(SHARED, "--tau", "X", cli_rec_args, tau, 0, 100, CLI_MIN_OPEN, "0.07", "the InfoNCE temperature"),
    CLI_FLOAT(SHARED, "--semantic-lr", "X", cli_rec_args, semantic_lr, 0, 10, CLI_MAX_OPEN, "0.0003",
              "learning rate of the view modules (text projection, category tables)"),
    CLI_FLAG(SHARED, "--infonce-mask", cli_rec_args, infonce_mask,
             "leave items with the same category and subcategory out of each other's InfoNCE denominators"),
    CLI_FLAG(SHARED, "--no-graph", cli_rec_args, no_graph, "SemaCDR: no graph propagation (the ablation)"),
    CLI_FLAG(SHARED, "--no-cross-fusion", cli_rec_args, no_cross,
             "SemaCDR: no cross-attention of the target sequence over the source one (the ablation)"),
    CLI_FLAG(SHARED, "--graph-user", cli_rec_args, graph_user,
             "SemaCDR: the user representation is the mixed graph's user row, as in the paper (its neighbours include "
             "the example's target); default: the same layer over the history before the example"),
    CLI_FLAG(SHARED, "--fixed-fusion", cli_rec_args, fixed_fusion,
             "SemaCDR: average the three user states instead of learned weights (the ablation)"),
    CLI_STRING(SHARED, "--train-domains", "D,...", cli_rec_args, job.train_domains, NULL,
               "zero-shot transfer (LLM-RecG): train text-only SASRec on these domains' events alone and evaluate "
               "every other domain (or --target) with its items represented by DIR/item_emb.npy, beside pop and a "
               "model trained on that domain"),
    CLI_CUSTOM(SHARED, "--zero-shot-models", "M,...", cli_rec_args, job.zero_shot_variants, parse_zero_shot,
               "base,item,item+seq",
               "zero-shot models: base (no alignment), item (LLM-RecG's item-level generalization loss), seq and "
               "item+seq (those with the sequence-level alignment at scoring)"),
    CLI_FLOAT(SHARED, "--align-weight", "W", cli_rec_args, job.sasrec.align_weight, 0, 100, CLI_MIN_OPEN, "0.1",
              "zero-shot: weight of the item-level alignment loss"),
    CLI_UINT(SHARED, "--align-items", "M", cli_rec_args, job.align_items, 2, 4096, "256",
             "zero-shot: source and target items per step of the item-level alignment"),
    CLI_FLOAT(SHARED, "--align-tau", "X", cli_rec_args, job.sasrec.align_tau, 0, 100, CLI_MIN_OPEN, "0.1",
              "zero-shot: temperature of the item-level alignment"),
    CLI_UINT(SHARED, "--seq-clusters", "K", cli_rec_args, job.seq_clusters, 1, 4096, "16",
             "zero-shot: centroids of the source users' states (sequence-level alignment)"),
    CLI_FLOAT(SHARED, "--seq-mix", "X", cli_rec_args, job.sasrec.seq_mix, 0, 1, 0, "0.5",
              "zero-shot: how far a target user's state moves to its attention-weighted centroid mix"),
    CLI_CHOICE(SHARED, "--adapter", cli_rec_args, adapter, adapter_choices, "linear",
               "zero-shot: the text's way into the item table, a linear projection or that plus a residual GELU layer"),
    CLI_FLAG(SHARED, "--no-ceiling", cli_rec_args, job.no_ceiling,
             "zero-shot: skip the model trained on the target domain itself"),
    CLI_STRING(SHARED, "--agnostic", "FILE", cli_rec_args, job.agnostic_file, NULL,
               "the agnostic view's categories from a CSV item,category[,subcategory] or an agnostic.npy of vkrec "
               "categories (default: DIR/agnostic.npy)"),
};
#undef REC_BOTH
const cli_option_group cli_rec_group = {rec_options, sizeof rec_options / sizeof *rec_options};

void cli_rec_args_init(cli_rec_args* a) {
    memset(a, 0, sizeof *a);
    cli_rec_job* job = &a->job;
    job->model = "sasrec";
    vkr_sasrec_train_defaults(&job->sasrec);
    job->split = "test";
    static const char* const defaults[] = {"full", "sampled:100", "sampled:999"};
    for (int k = 0; k < 3; k++) {
        vkr_protocol_parse(defaults[k], &job->protocols[k]);
        snprintf(job->protocol_names[k], 32, "%s", defaults[k]);
    }
    job->protocol_count = 3;
    job->cutoffs = (cli_uint_list){.count = 2, .v = {5, 10}};
    job->zero_shot_variants = CLI_ZS_BASE | CLI_ZS_ITEM | CLI_ZS_ITEM_SEQ;
    job->seq_clusters = 16;
    job->align_items = 256;
    vkr_gencdr_train_defaults(&job->gencdr);
    vkr_semacdr_train_defaults(&job->semacdr);
    a->loss = CLI_LOSS_AUTO;
    a->arch = (int)job->sasrec.arch;
    a->input = job->sasrec.mixed_input;
    a->trie = job->gencdr.global_trie;
    a->codes_only = !job->gencdr.item_ids;
    a->lambda = job->semacdr.lambda;
    a->tau = job->semacdr.tau;
    a->semantic_lr = job->semacdr.semantic_lr;
}

void cli_rec_args_apply(cli_rec_args* a, const cli_common* com) {
    cli_rec_job* job = &a->job;
    job->loss = (cli_loss)a->loss;
    job->sasrec.loss = job->loss == CLI_LOSS_CE ? VKR_SASREC_CE : VKR_SASREC_BCE;
    job->semacdr.softmax = job->loss != CLI_LOSS_BPR;
    job->sasrec.arch = (vkr_sasrec_arch)a->arch;
    job->sasrec.mixed_input = a->input == 1;
    job->split = split_choices[a->split];
    job->gencdr.global_trie = a->trie == 1;
    job->sasrec.semantic_mlp = a->adapter == 1;
    job->sasrec.gru = a->encoder == 1;
    job->sasrec.buckets = a->buckets == 0;
    job->gencdr.item_ids = !a->codes_only;
    job->cutoffs.count = vkr_sort_unique(job->cutoffs.v, job->cutoffs.count);
    for (uint32_t k = 0; k < job->protocol_count; k++) job->protocols[k].exclude_history = job->exclude_history;
    job->sasrec.validate = job->protocols[0]; /* validate as the user evaluates: the first --protocol */
    job->semacdr.validate = job->protocols[0];
    if (a->item_views) job->semacdr.views = job->sasrec.item_views = job->gencdr.item_views = a->item_views;
    job->semacdr.lambda = job->sasrec.view_lambda = job->gencdr.view_lambda = a->lambda;
    job->semacdr.tau = job->sasrec.view_tau = job->gencdr.view_tau = a->tau;
    job->semacdr.semantic_lr = job->sasrec.semantic_lr = a->semantic_lr;
    job->semacdr.graph = !a->no_graph;
    job->semacdr.cross_fusion = !a->no_cross;
    job->semacdr.adaptive_fusion = !a->fixed_fusion;
    job->semacdr.graph_user = a->graph_user;
    job->semacdr.infonce_mask = job->sasrec.view_mask = a->infonce_mask;
    if (com->seed) job->sasrec.seed = job->gencdr.seed = job->semacdr.seed = com->seed;
    job->quiet = com->quiet;
}

/* What `vkrec train` reads beside the shared recommender options. */
typedef struct train_args {
    const char* dir;    /* the dataset */
    int model;          /* --model: index into model_choices */
    const char* target; /* --target */
    const char* ckpt;   /* --ckpt */
    bool resume;        /* --resume */
    uint32_t seeds;     /* --seeds */
    const char* vectors; /* --item-vectors */
} train_args;

static const char* const model_choices[] = {"sasrec", "pop", "gencdr", "semacdr", NULL};
static const cli_positional train_positionals[] = {{"DIR", "the dataset directory", offsetof(train_args, dir), 1, 1}};
static const cli_option train_opts[] = {
    CLI_CHOICE(COMMAND, "--model", train_args, model, model_choices, "sasrec", "the recommender"),
    CLI_STRING(COMMAND, "--target", "D", train_args, target, NULL, "only this target domain (default: every domain)"),
    CLI_STRING(COMMAND, "--ckpt", "DIR", train_args, ckpt, NULL, "keep best/last checkpoints (safetensors) under DIR"),
    CLI_FLAG(COMMAND, "--resume", train_args, resume, "with --ckpt: continue from the last checkpoint exactly"),
    CLI_STRING(COMMAND, "--item-vectors", "FILE.npy", train_args, vectors, NULL,
               "semacdr: write the first model's graph item outputs (items x hidden float32; vkrec tsne/align "
               "FILE --data DIR map and measure them)"),
    CLI_UINT(COMMAND, "--seeds", "N", train_args, seeds, 1, 100, "1",
             "train with seeds SEED..SEED+N-1 (checkpoints in --ckpt DIR/seed-S); mean ± std"),
};
static const cli_option* const train_shared[] = {&cli_opt_seed, &cli_opt_json_file, &cli_opt_device, &cli_opt_quiet,
                                                 &cli_opt_force, NULL};
const cli_spec cli_train_spec = {
    .name = "train",
    .description =
        "  Trains on the dataset's training interactions for each target domain (or --target only),\n"
        "  validates every epoch (SASRec: HR@10 under the first --protocol, full by default; GenCDR:\n"
        "  full-ranking HR@10; early stopping with --patience, 0 never stops; best parameters\n"
        "  kept), then evaluates the split under each protocol: full ranks the target against every item\n"
        "  of its domain; sampled:N against N negatives the user never interacted with (seeded). Ties\n"
        "  count against the target; --exclude-history leaves the user's earlier items out of the full\n"
        "  ranking (sampled negatives never include them); --cutoffs sets the K of HR@K and NDCG@K.\n"
        "  --ckpt keeps best/last checkpoints (safetensors); --resume continues from the last one\n"
        "  exactly: it refuses a missing checkpoint, another dataset (checkpoints keep its fingerprint)\n"
        "  and settings other than the checkpoint's. One vkrec at a time uses a --ckpt DIR (a lock file\n"
        "  DIR/.vkrec.lock; a second one fails). --json FILE replaces FILE only when it holds JSON (else\n"
        "  --force), never a dataset file. --device cpu runs on the CPU reference backend. --seeds N\n"
        "  trains and evaluates N times (seeds SEED..SEED+N-1) and prints mean ± sample std (--json\n"
        "  FILE then holds {\"results\": every seed's rows, \"summary\"}).\n"
        "  gencdr needs DIR/semantic_ids.npy (vkrec tokenize DIR); one model serves every domain; it ranks\n"
        "  by constrained beam search (full) or ID log-likelihood (sampled). Each history item enters as\n"
        "  its code embeddings plus a learned per-item embedding (hybrid input; outputs stay semantic\n"
        "  IDs); --codes-only drops the per-item embedding (pure semantic-ID input, the ablation).\n"
        "  semacdr (SemaCDR) trains one model per target domain with every other domain as its source; its\n"
        "  inner and agnostic item views read DIR/item_emb.npy and DIR/agnostic.npy (vkrec embed, vkrec\n"
        "  categories; or --agnostic FILE) unless --item-views leaves them out.",
    CLI_POSITIONALS(train_positionals),
    CLI_OWN_OPTIONS(train_opts),
    .groups = (const cli_option_group* const[]){&cli_rec_group, NULL},
    .shared = train_shared,
    .defaults = (const char* const[]){"--seed", "42", NULL},
};

/* Trains and evaluates job with `seeds` seeds (its own, +1, ...): a table per seed and, over several, rows
 * tagged with their seed, checkpoints in ckpt_root/seed-S and the mean ± std table at the end. */
static vkr_status train_seeds(vkr_device* dev, const vkr_dataset* ds, const cli_rec_job* seed_job, uint32_t seeds,
                              uint32_t first, uint32_t last, cJSON* results) {
    vkr_status s = VKR_OK;
    if (seeds > 1 && strcmp(seed_job->model, "gencdr") == 0)
        printf("note: every seed's GenCDR reads the same semantic IDs (vkrec run --seeds learns them per seed)\n");
    for (uint32_t k = 0; k < seeds && s == VKR_OK; k++) {
        cli_rec_job job = *seed_job;
        job.sasrec.seed += k;
        job.gencdr.seed += k;
        job.semacdr.seed += k;
        char ckpt[1100];
        if (seeds > 1 && job.ckpt_root) {
            if (mkdir(job.ckpt_root, 0755) != 0 && errno != EEXIST)
                return vkr_fail(VKR_ERR_IO, "cannot create %s: %s", job.ckpt_root, strerror(errno));
            snprintf(ckpt, sizeof ckpt, "%s/seed-%llu", job.ckpt_root, (unsigned long long)job.sasrec.seed);
            job.ckpt_root = ckpt;
        }
        if (seeds > 1) printf("seed %llu (%u of %u)\n", (unsigned long long)job.sasrec.seed, k + 1, seeds);
        cli_rec_table_header(stdout, &job);
        cJSON* rows = seeds > 1 ? cJSON_CreateArray() : results;
        s = rows ? cli_stage_train(dev, ds, &job, first, last, rows, stdout)
                 : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        if (rows && rows != results) run_seeds_append(results, rows, job.sasrec.seed);
        if (rows != results) cJSON_Delete(rows);
    }
    if (s != VKR_OK || seeds == 1) return s;
    cJSON* summary = run_seeds_summary(results);
    if (!summary) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    printf("\nmean ± sample std over %u seeds\n", seeds);
    run_seeds_table(stdout, summary);
    cJSON_Delete(summary);
    return VKR_OK;
}

int cli_cmd_train(int argc, char** argv) {
    cli_common com = {0};
    train_args t = {.seeds = 1};
    cli_rec_args ra;
    cli_rec_args_init(&ra);
    if (cli_parse(&cli_train_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &t, &ra}) != CLI_OK)
        return CLI_USAGE;
    cli_rec_args_apply(&ra, &com);
    cli_rec_job job = ra.job;
    const char* dir = t.dir;
    const char* target = t.target;
    bool resume = t.resume;
    job.model = model_choices[t.model];
    job.ckpt_root = t.ckpt;
    job.data_dir = dir;
    if (resume && !job.ckpt_root) return cli_usage_error("train", "--resume needs --ckpt DIR");
    if (job.train_domains && job.ckpt_root)
        return cli_usage_error("train", "--ckpt: the zero-shot models (--train-domains) write no checkpoints yet");
    if (com.json_file && cli_output_check("train", "--json", com.json_file, (const char* const[]){dir}, 1,
                                          CLI_OUTPUT_JSON, NULL, com.force) != CLI_OK)
        return CLI_USAGE;
    if (t.vectors && strcmp(job.model, "semacdr") != 0)
        return cli_usage_error("train", "--item-vectors is for --model semacdr");
    if (t.vectors && cli_output_check("train", "--item-vectors", t.vectors, (const char* const[]){dir}, 1,
                                      CLI_OUTPUT_NPY, NULL, com.force) != CLI_OK)
        return CLI_USAGE;
    float* vectors = NULL;
    if (t.vectors) job.semacdr_vectors_out = &vectors;
    job.sasrec.resume = resume;
    job.gencdr.resume = resume;
    job.semacdr.resume = resume;
    if (job.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_dataset ds;
    vkr_status s = vkr_dataset_load(dir, &ds);
    if (s != VKR_OK) return cli_fail("train", s);
    uint32_t first = 0, last = ds.domain_count;
    if (target) {
        int d = vkr_dataset_domain_index(&ds, target);
        if (d < 0) {
            vkr_dataset_free(&ds);
            return cli_usage_error("train", "--target '%s' is not a domain of %s", target, dir);
        }
        first = (uint32_t)d;
        last = first + 1;
    }
    vkr_lock lock = {.fd = -1};
    bool lead = cli_is_lead(); /* data-parallel: rank 0 alone locks and writes */
    if (lead && job.ckpt_root && (s = cli_output_lock(job.ckpt_root, &lock)) != VKR_OK) {
        vkr_dataset_free(&ds);
        return cli_fail("train", s);
    }
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    if (strcmp(job.model, "pop") != 0) s = cli_open_backend(com.device, &inst, &dev);
    cJSON* results = cJSON_CreateArray();
    if (s == VKR_OK) s = train_seeds(dev, &ds, &job, t.seeds, first, last, results);
    if (s == VKR_OK && vectors && lead)
        s = vkr_npy_save(t.vectors, VKR_ELEM_F32, 2, (const uint64_t[]){ds.item_count, job.semacdr.hidden}, vectors);
    free(vectors);
    int rc = s == VKR_OK ? CLI_OK : cli_fail("train", s);
    if (rc == CLI_OK && com.json_file && lead) { /* over several seeds: every seed's rows and their summary */
        cJSON* out = t.seeds > 1 ? cJSON_CreateObject() : results;
        if (out != results) {
            cJSON_AddItemReferenceToObject(out, "results", results);
            cJSON_AddItemToObject(out, "summary", run_seeds_summary(results));
        }
        s = vkr_json_write(out, com.json_file);
        if (out != results) cJSON_Delete(out);
        if (s != VKR_OK) rc = cli_fail("train", s);
    }
    cJSON_Delete(results);
    cli_close_device(inst, dev);
    vkr_dataset_free(&ds);
    vkr_lock_release(&lock);
    return rc;
}
