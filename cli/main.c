/* vkrec: generative cross-domain recommendation on Vulkan compute. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"devices", "list Vulkan devices and their capabilities",
     "usage: vkrec devices [--json]\n"
     "  Lists every Vulkan device: vendor, type, driver, API version, memory heaps, subgroup size,\n"
     "  shared memory, fp16/int8/16-bit storage, cooperative matrix, timestamps. The device vkrec\n"
     "  picks by default is marked with '*' (discrete > integrated > virtual > CPU; override with\n"
     "  --device INDEX|NAME or VKR_DEVICE).\n"
     "  --json   print the same as a JSON array\n",
     cli_cmd_devices},
    {"run", "the main job: prepare, embed, tokenize, train and evaluate every model, write a report",
     "usage: vkrec run [SRC|DATASET] [--out RUN_DIR] [--device INDEX|NAME|cpu] [--epochs N] [--quiet]\n"
     "                 [any option of vkrec train]\n"
     "  Runs the whole pipeline on SRC (an LLMCDSR-style release; default: the bundled sample in\n"
     "  assets/food-kitchen-sample) or on an existing dataset directory: prepare (leave-one-out, no\n"
     "  filters), embed item titles, learn semantic IDs (RQ-VAE with domain adapters), train pop and\n"
     "  SASRec (BCE and full-softmax CE) for every target domain and one GenCDR for all domains, with\n"
     "  per-epoch validation, and evaluate the test split under full, sampled:100 and sampled:999.\n"
     "  Writes RUN_DIR/report.md (metrics table, settings, timings, device) and RUN_DIR/metrics.json\n"
     "  (default RUN_DIR: ./run). --tokenizer-epochs N sets the RQ-VAE schedule (default 12).\n"
     "  GenCDR scores a sampled candidate by the likelihood of its whole semantic ID, so without\n"
     "  --protocol the demo evaluates it under full and sampled:100 only (sampled:999 is 10x the work).\n",
     cli_cmd_run},
    {"train", "train a recommender (pop, sasrec, gencdr) per target domain and evaluate it (HR/NDCG/MRR)",
     "usage: vkrec train DIR [--model pop|sasrec|gencdr] [--target D] [--loss bce|ce] [--input target|mixed]\n"
     "                 [--protocol full,sampled:100,sampled:999] [--split test|valid] [--epochs N]\n"
     "                 [--batch N] [--hidden N] [--blocks N] [--heads N] [--max-len N] [--dropout P]\n"
     "                 [--lr X] [--patience N] [--seed N] [--ckpt DIR [--resume]] [--json FILE]\n"
     "                 [--beam W] [--trie domain|global] [--lora-rank R] [--codes-only]\n"
     "                 [--device INDEX|NAME|cpu] [--quiet]\n"
     "  Trains on the dataset's training interactions for each target domain (or --target only),\n"
     "  validates every epoch (full-ranking HR@10; early stopping with --patience, best parameters\n"
     "  kept), then evaluates the split under each protocol: full ranks the target against every item\n"
     "  of its domain; sampled:N against N negatives the user never interacted with (seeded). Ties\n"
     "  count against the target. --ckpt keeps best/last checkpoints (safetensors); --resume continues\n"
     "  from the last one exactly. --device cpu runs on the CPU reference backend.\n"
     "  gencdr needs DIR/semantic_ids.npy (vkrec tokenize DIR); one model serves every domain; it ranks\n"
     "  by constrained beam search (full) or ID log-likelihood (sampled). Each history item enters as\n"
     "  its code embeddings plus a learned per-item embedding (hybrid input; outputs stay semantic\n"
     "  IDs); --codes-only drops the per-item embedding (pure semantic-ID input, the ablation);\n"
     "  --beam W sets the beam width of the full ranking and of recommendations (default 20, up to 256);\n"
     "  --trie global decodes over every domain's IDs instead of the target domain's (--trie domain);\n"
     "  --lora-rank R sets the rank of the per-domain adapters (default 8; 0: universal model only).\n",
     cli_cmd_train},
    {"recommend", "a user's top items from a trained model's checkpoint, with titles",
     "usage: vkrec recommend --ckpt FILE|DIR --user U [--k N] [--domain D] [--data DIR] [--json FILE]\n"
     "                       [--device INDEX|NAME|cpu] [--quiet]\n"
     "  Rebuilds the model a `vkrec train --ckpt` checkpoint describes (its metadata names the model,\n"
     "  sizes and dataset; DIR means DIR/best.safetensors) and prints the user's N best items (default\n"
     "  10) after all of the user's events, skipping items the user already has, with their titles.\n"
     "  U is a user id of the dataset or #INDEX. SASRec ranks its target domain's items; GenCDR decodes\n"
     "  by constrained beam search for every domain, or only --domain D.\n"
     "  --data DIR   the dataset, when it moved since training\n"
     "  --json FILE  also write the lists as JSON\n",
     cli_cmd_recommend},
    {"bench", "headless benchmarks with a CPU peer in the same run, JSON out",
     "usage: vkrec bench [SUITE...] [--json FILE] [--device INDEX|NAME] [--runs N] [--warmup N] [--quiet]\n"
     "  Runs benchmark suites (all when none is named) and prints median/min/max per result, with the\n"
     "  CPU peer measured in the same run and the ratio (above 1 means vkrec is ahead).\n"
     "  --json FILE   also write results as JSON (written to FILE.tmp, then renamed)\n"
     "  --runs N      timed repetitions per result (default 7)\n"
     "  --warmup N    untimed repetitions first (default 2)\n"
     "  --sizes N,... problem sizes for suites that take them (tsne: points, default 2000,5000,10000)\n"
     "  --list        list the suites and exit\n"
     "  --quiet       print nothing but errors\n",
     cli_cmd_bench},
    {"prepare", "read a cross-domain release or dump, preprocess, write a dataset directory",
     "usage: vkrec prepare --format llmcdsr|c2dsr|amazon|csv [OPTIONS] SRC... --out DIR\n"
     "  Sources: llmcdsr/c2dsr: the release directory (titles from its derived/*.tsv when present);\n"
     "  amazon: --domain NAME=REVIEWS[,META] per domain (JSON lines, .gz or plain, 2014/2018 fields);\n"
     "  csv: INTERACTIONS (user,item,timestamp,domain) [ITEMS (item,domain,title[,text])], comma or tab.\n"
     "  Steps: time sort (stable), dedupe, k-core + overlap filters, split; dataset.json says what was done.\n"
     "  --split given|loo     keep the release's split (llmcdsr, c2dsr) or leave-one-out (default)\n"
     "  --target D            target domain: leave-one-out on D's events; given split keeps D targets\n"
     "  --no-filter           turn off the k-core and overlap filters (raw counts)\n"
     "  --min-item N          k-core: interactions per item (default 10)\n"
     "  --min-user N          k-core: interactions per user in each domain used (default 3)\n"
     "  --overlap-only, --no-overlap-only   keep only users in every domain (default: on for 2+ domains)\n"
     "  --keep-duplicates     keep repeated (user, item) interactions\n"
     "  --max-len N           history window later stages use (default 50, 0: unlimited)\n"
     "  --domain-names A,B    names of a release's two domains (default A,B)\n"
     "  --force               replace DIR when it already holds a dataset\n"
     "  --quiet               print nothing but errors\n",
     cli_cmd_prepare},
    {"stats", "counts of a prepared dataset (users, items, interactions, overlap, splits, text)",
     "usage: vkrec stats DIR [--json]\n"
     "  Prints users, items and interactions per domain, overlapping users, average sequence length per\n"
     "  domain, split sizes and item-text coverage of a dataset written by vkrec prepare.\n"
     "  --json   print the same as JSON (users, interactions, overlap_users, domains[...], splits)\n",
     cli_cmd_stats},
    {"embed", "item embeddings (TF-IDF or co-occurrence + randomized SVD on the GPU, or import)",
     "usage: vkrec embed DIR [--source auto|text|cooc] [--dim N] [--import FILE.npy [--ids FILE]] [--quiet]\n"
     "  Writes DIR/item_emb.npy (items x dim float32, row i = item i, rows L2-normalized) and item_emb.json.\n"
     "  text: TF-IDF of titles and text (word uni- and bi-grams, sublinear tf), truncated SVD;\n"
     "  cooc: PPMI item-item co-occurrence of training interactions, truncated SVD;\n"
     "  auto (default): text where an item has it, co-occurrence otherwise (counts are printed).\n"
     "  --dim N            embedding size (default 64)\n"
     "  --import FILE.npy  take float32/float16 items x d vectors from any encoder instead\n"
     "  --ids FILE         with --import: line k is the item key of row k (default: rows in item order)\n"
     "  --window N         co-occurrence window in events (default 5)\n"
     "  --min-df N, --max-features N   TF-IDF vocabulary (defaults 2 and 65536)\n"
     "  --power-iters N, --seed N      randomized SVD (defaults 4 and 1)\n"
     "  --device INDEX|NAME            Vulkan device (default: VKR_DEVICE or the best)\n",
     cli_cmd_embed},
    {"tokenize", "semantic IDs: RQ-VAE tokenizer (GPU k-means init, optional domain adapters) on item embeddings",
     "usage: vkrec tokenize DIR [--levels L] [--codes K] [--adapters] [--epochs N] [--quiet] [OPTIONS]\n"
     "  Trains an RQ-VAE on DIR/item_emb.npy (vkrec embed) and writes DIR/semantic_ids.npy (uint16 items x\n"
     "  (L+1), row i = item i: L codes plus a token that tells apart items sharing a path, so every ID is\n"
     "  unique), DIR/tokenizer.safetensors (weights) and DIR/tokenizer.json (settings, utilization and\n"
     "  perplexity per level, collision rate, losses). Codebooks start from GPU k-means; dead codes are\n"
     "  re-seeded during training.\n"
     "  --levels L          residual codebooks (default 3)\n"
     "  --codes K           codes per codebook (default 256)\n"
     "  --latent D          latent width (default 32)\n"
     "  --hidden A,B,...    encoder hidden widths, decoder mirrored (default 512,256,128)\n"
     "  --beta B            commitment weight (default 0.25)\n"
     "  --adapters          GenCDR: per-domain LoRA adapters + router, trained after the universal model\n"
     "  --rank R            adapter rank (default 8)\n"
     "  --epochs N          universal-phase epochs (default: about 3000 steps, 10..200 epochs)\n"
     "  --adapter-epochs N  adapter-phase epochs (default epochs/4)\n"
     "  --batch N, --lr F, --kmeans-iters N, --seed N   training (defaults 256, 0.001, 20, 0)\n"
     "  --device INDEX|NAME Vulkan device (default: VKR_DEVICE or the best)\n"
     "  --quiet             print nothing but errors\n",
     cli_cmd_tokenize},
    {"trie", "prefix trie of the semantic IDs (global or one domain): node counts, branching, lookups",
     "usage: vkrec trie DIR [--domain NAME|INDEX] [--json] [--item I] [--path T1,T2,...]\n"
     "  Builds the trie of DIR/semantic_ids.npy (vkrec tokenize) over all items or one domain's, and\n"
     "  prints nodes per level, mean and largest branching per level, depth and items per code path.\n"
     "  --domain D    the trie of domain D (name or index) instead of the global one\n"
     "  --json        print the same as JSON\n"
     "  --item I      also print item I's semantic ID (found through the trie)\n"
     "  --path T,...  also look up the item with this full ID (an error if it is no item's ID)\n",
     cli_cmd_trie},
    {"tsne", "2-D t-SNE map of an embedding matrix on the GPU (.npy + CSV)",
     "usage: vkrec tsne INPUT [--out MAP.npy] [OPTIONS]\n"
     "  INPUT: an N x D .npy (float32/float16) or a directory with item_emb.npy; a dataset directory adds\n"
     "  each item's key, domain and title to the CSV. Writes MAP.npy (N x 2 float32) and MAP.csv\n"
     "  (item,key,domain,title,x,y); default MAP: INPUT/tsne.npy for a directory.\n"
     "  kNN graph (3 x perplexity neighbours, GPU brute force), per-point sigma search, symmetric sparse P,\n"
     "  early exaggeration, momentum 0.5 -> 0.8, gains; prints the final KL divergence.\n"
     "  --perplexity P      target perplexity (default 30)\n"
     "  --iters N           iterations (default 1000); --early-iters N with exaggeration (default 250)\n"
     "  --exaggeration A    early exaggeration (default 12)\n"
     "  --lr R              learning rate on the true gradient (default auto: max(N/48, 50))\n"
     "  --method M          exact (O(N^2) tiles), fft (FFT interpolation, O(N)), auto (default)\n"
     "  --max-grid L        cap on the FFT grid side, a power of two in [64, 1024] (default 512 on a CPU\n"
     "                      driver, 1024 on a GPU); 256 halves the time on a CPU at a slightly higher KL\n"
     "  --init I            pca (default) or random; --seed N (default 1)\n"
     "  --emb FILE          embedding file inside a directory INPUT (default item_emb.npy)\n"
     "  --data DIR          dataset directory for labels (default: INPUT when it is one)\n"
     "  --device INDEX|NAME, --quiet\n",
     cli_cmd_tsne},
    {"align", "domain-alignment measure: how mixed the domains are among nearest neighbours",
     "usage: vkrec align INPUT [--map MAP.npy]... [--k K] [--data DIR] [--json FILE] [--quiet]\n"
     "  For every item, the fraction of its K nearest neighbours (default 10) from another domain, averaged\n"
     "  per domain and overall, and divided by the value expected under perfect mixing (a random\n"
     "  neighbour set): 0 = domains fully separated, 1 = perfectly mixed. Computed in the embedding space\n"
     "  of INPUT (as for vkrec tsne) and in each 2-D map given (INPUT/tsne.npy when present by default).\n"
     "  --emb FILE   embedding file inside a directory INPUT (default item_emb.npy)\n"
     "  --json FILE  also write the numbers as JSON\n",
     cli_cmd_align},
    {"view", "interactive viewer of t-SNE maps and the semantic-ID trie (SDL2), or headless PNG",
     "usage: vkrec view RUN_DIR [--data DIR] [--screenshot OUT.png [--panel map|trie]] [--map NAME] [--size WxH]\n"
     "                          [--live [--emb FILE] [--iters N] [--device INDEX|NAME]]\n"
     "  Map panel: items of every RUN_DIR/tsne*.npy and RUN_DIR/maps/NAME.npy map coloured by domain;\n"
     "  wheel zooms, drag or arrows pan, hover shows title and id, click selects an item and highlights\n"
     "  its nearest neighbours, '/' searches titles, v switches maps, +/- zoom, , and . point size,\n"
     "  [ ] opacity, r resets, Tab switches panels.\n"
     "  Trie panel: the prefix tree of semantic_ids.npy (in RUN_DIR or the dataset directory; levels\n"
     "  left to right, node size by item count, colour by domain mix); click a node to expand or\n"
     "  collapse it; u cycles users of RUN_DIR/beams.json to overlay their beam-search paths and scores.\n"
     "  --screenshot OUT.png  render without a window (no display needed) and exit\n"
     "  --panel map|trie      panel to start with or to render (default map)\n"
     "  --map NAME            map to start with or to render (tsne_text.npy and maps/text.npy: text)\n"
     "  --live                run t-SNE of the dataset's embedding on the GPU and redraw its map as it\n"
     "                        converges (every 10 iterations; closing the window stops it); with\n"
     "                        --screenshot, headless: the final map. --emb FILE (default item_emb.npy),\n"
     "                        --iters N (default 1000), --device INDEX|NAME\n"
     "  --size WxH            window or image size (default 1280x800)\n"
     "  --data DIR            dataset directory for titles and domains (default RUN_DIR, else RUN_DIR/data,\n"
     "                        else the dataset_dir RUN_DIR/metrics.json names)\n",
     cli_cmd_view},
};
static const size_t command_count = sizeof commands / sizeof commands[0];

static const cli_command* find_command(const char* name) {
    for (size_t i = 0; i < command_count; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void print_overview(FILE* f) {
    fprintf(f, "vkrec %s: generative cross-domain recommendation on Vulkan compute\n\n", vkr_version());
    fprintf(f, "usage: vkrec COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < command_count; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-10s %s\n", "help", "show help for a command");
    fprintf(f, "\nenvironment: VKR_DEVICE (device index or name), VKR_VALIDATE=1 (validation layer),\n"
               "VKR_PROFILE=1 (per-kernel timing table at exit), VKR_TIMEOUT (seconds per submission)\n");
}

int cli_usage_error(const char* command, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vkrec %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'vkrec help %s')\n", command);
    va_end(ap);
    return CLI_USAGE;
}

int cli_fail(const char* command, vkr_status status) {
    fprintf(stderr, "vkrec %s: %s: %s\n", command, vkr_status_name(status), vkr_last_error());
    return CLI_FAILED;
}

const char* cli_value(const char* command, int argc, char** argv, int* i) {
    if (*i + 1 >= argc) {
        cli_usage_error(command, "option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

bool cli_parse_uint(const char* command, const char* option, const char* text, unsigned* out) {
    char* end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || v == 0 || v > 1000000000ul || text[0] == '-') {
        cli_usage_error(command, "%s expects a positive integer, got '%s'", option, text);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

vkr_status cli_open_device(const char* selector, vkr_instance** out_instance, vkr_device** out_device) {
    return vkr_open_default(selector, out_instance, out_device);
}

void cli_close_device(vkr_instance* instance, vkr_device* device) {
    vkr_device_destroy(device);
    if (instance && vkr_instance_validation_enabled(instance) &&
        (vkr_instance_validation_errors(instance) || vkr_instance_validation_warnings(instance)))
        fprintf(stderr, "vkrec: validation reported %llu error(s) and %llu warning(s)\n",
                (unsigned long long)vkr_instance_validation_errors(instance),
                (unsigned long long)vkr_instance_validation_warnings(instance));
    vkr_instance_destroy(instance);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        print_overview(stderr);
        return CLI_USAGE;
    }
    const char* cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("vkrec %s\n", vkr_version());
        return CLI_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc < 3) {
            print_overview(stdout);
            return CLI_OK;
        }
        const cli_command* c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "vkrec help: unknown command '%s'; 'vkrec help' lists them\n", argv[2]);
            return CLI_USAGE;
        }
        fputs(c->usage, stdout);
        return CLI_OK;
    }
    const cli_command* c = find_command(cmd);
    if (!c) {
        fprintf(stderr, "vkrec: unknown command '%s'; 'vkrec help' lists them\n", cmd);
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(c->usage, stdout);
            return CLI_OK;
        }
    return c->run(argc - 1, argv + 1);
}
