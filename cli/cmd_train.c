/* vkrec train: train a recommender for one or every target domain and evaluate it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_rec.h"
#include "vkr_beam.h"

/* Parses the options shared by `train` and `run` into job; returns CLI_OK, or CLI_USAGE after a message.
 * Unknown options are left to the caller: *consumed tells whether argv[*i] was one of ours. */
int cli_rec_parse_option(const char* cmd, int argc, char** argv, int* i, cli_rec_job* job, bool* consumed) {
    const char* a = argv[*i];
    unsigned v = 0;
    *consumed = true;
#define VALUE() (cli_value(cmd, argc, argv, i))
    if (strcmp(a, "--loss") == 0) {
        const char* x = VALUE();
        if (!x) return CLI_USAGE;
        if (strcmp(x, "bce") == 0) job->sasrec.loss = VKR_SASREC_BCE;
        else if (strcmp(x, "ce") == 0) job->sasrec.loss = VKR_SASREC_CE;
        else return cli_usage_error(cmd, "--loss expects bce or ce, got '%s'", x);
    } else if (strcmp(a, "--input") == 0) {
        const char* x = VALUE();
        if (!x) return CLI_USAGE;
        if (strcmp(x, "mixed") == 0) job->sasrec.mixed_input = true;
        else if (strcmp(x, "target") == 0) job->sasrec.mixed_input = false;
        else return cli_usage_error(cmd, "--input expects mixed or target, got '%s'", x);
    } else if (strcmp(a, "--protocol") == 0) {
        const char* x = VALUE();
        if (!x) return CLI_USAGE;
        job->protocol_count = 0;
        job->protocols_given = true;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", x);
        for (char* tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            if (job->protocol_count == CLI_MAX_PROTOCOLS) return cli_usage_error(cmd, "at most %d protocols", CLI_MAX_PROTOCOLS);
            if (vkr_protocol_parse(tok, &job->protocols[job->protocol_count]) != VKR_OK)
                return cli_usage_error(cmd, "%s", vkr_last_error());
            snprintf(job->protocol_names[job->protocol_count++], 32, "%s", tok);
        }
    } else if (strcmp(a, "--split") == 0) {
        const char* x = VALUE();
        if (!x) return CLI_USAGE;
        if (strcmp(x, "valid") && strcmp(x, "test")) return cli_usage_error(cmd, "--split expects valid or test");
        job->split = x;
    } else if (strcmp(a, "--epochs") == 0 || strcmp(a, "--batch") == 0 || strcmp(a, "--hidden") == 0 ||
               strcmp(a, "--blocks") == 0 || strcmp(a, "--heads") == 0 || strcmp(a, "--max-len") == 0 ||
               strcmp(a, "--patience") == 0 || strcmp(a, "--seed") == 0) {
        const char* x = VALUE();
        if (!x || !cli_parse_uint(cmd, a, x, &v)) return CLI_USAGE;
        if (strcmp(a, "--epochs") == 0) job->sasrec.epochs = job->gencdr.epochs = v;
        else if (strcmp(a, "--batch") == 0) job->sasrec.batch = job->gencdr.batch = v;
        else if (strcmp(a, "--hidden") == 0) job->sasrec.hidden = job->gencdr.hidden = v;
        else if (strcmp(a, "--blocks") == 0) job->sasrec.blocks = job->gencdr.blocks = v;
        else if (strcmp(a, "--heads") == 0) job->sasrec.heads = job->gencdr.heads = v;
        else if (strcmp(a, "--max-len") == 0) job->sasrec.max_len = job->gencdr.max_len = v;
        else if (strcmp(a, "--patience") == 0) job->sasrec.patience = job->gencdr.patience = v;
        else job->sasrec.seed = job->gencdr.seed = v;
    } else if (strcmp(a, "--lr") == 0 || strcmp(a, "--dropout") == 0) {
        const char* x = VALUE();
        if (!x) return CLI_USAGE;
        char* end = NULL;
        double d = strtod(x, &end);
        if (*end || !(d >= 0) || d >= (strcmp(a, "--lr") == 0 ? 10 : 1))
            return cli_usage_error(cmd, "%s: bad value '%s'", a, x);
        if (strcmp(a, "--lr") == 0) job->sasrec.lr = job->gencdr.lr = (float)d;
        else job->sasrec.dropout = job->gencdr.dropout = (float)d;
    } else if (strcmp(a, "--beam") == 0) {
        const char* x = VALUE();
        if (!x || !cli_parse_uint(cmd, a, x, &v)) return CLI_USAGE;
        if (v > VKR_BEAM_MAX_WIDTH) return cli_usage_error(cmd, "--beam %u exceeds %u", v, VKR_BEAM_MAX_WIDTH);
        job->gencdr.beam = v;
    } else if (strcmp(a, "--trie") == 0) {
        const char* x = VALUE();
        if (!x) return CLI_USAGE;
        if (strcmp(x, "global") && strcmp(x, "domain"))
            return cli_usage_error(cmd, "--trie expects domain or global, got '%s'", x);
        job->gencdr.global_trie = strcmp(x, "global") == 0;
    } else if (strcmp(a, "--lora-rank") == 0) {
        const char* x = VALUE();
        if (!x) return CLI_USAGE;
        char* end = NULL;
        unsigned long r = strtoul(x, &end, 10);
        if (!*x || *end || r > 256) return cli_usage_error(cmd, "--lora-rank expects 0..256 (0: no adapters), got '%s'", x);
        job->gencdr.lora_rank = (uint32_t)r;
    } else if (strcmp(a, "--codes-only") == 0) {
        job->gencdr.item_ids = false;
    } else if (strcmp(a, "--quiet") == 0) {
        job->quiet = true;
    } else {
        *consumed = false;
    }
#undef VALUE
    return CLI_OK;
}

void cli_rec_job_defaults(cli_rec_job* job) {
    memset(job, 0, sizeof *job);
    job->model = "sasrec";
    vkr_sasrec_train_defaults(&job->sasrec);
    job->split = "test";
    static const char* const defaults[] = {"full", "sampled:100", "sampled:999"};
    for (int k = 0; k < 3; k++) {
        vkr_protocol_parse(defaults[k], &job->protocols[k]);
        snprintf(job->protocol_names[k], 32, "%s", defaults[k]);
    }
    job->protocol_count = 3;
    vkr_gencdr_train_defaults(&job->gencdr);
}

/* Opens the requested backend: "cpu" means the CPU reference backend (no Vulkan needed). */
vkr_status cli_open_backend(const char* selector, vkr_instance** inst, vkr_device** dev) {
    *inst = NULL;
    *dev = NULL;
    if (selector && strcmp(selector, "cpu") == 0) return VKR_OK;
    return cli_open_device(selector, inst, dev);
}

int cli_cmd_train(int argc, char** argv) {
    cli_rec_job job;
    cli_rec_job_defaults(&job);
    const char* dir = NULL;
    const char* target = NULL;
    const char* json = NULL;
    const char* selector = NULL;
    bool resume = false;
    for (int i = 1; i < argc; i++) {
        bool consumed = false;
        if (cli_rec_parse_option("train", argc, argv, &i, &job, &consumed) != CLI_OK) return CLI_USAGE;
        if (consumed) continue;
        const char* a = argv[i];
        const char** slot = strcmp(a, "--model") == 0    ? &job.model
                            : strcmp(a, "--target") == 0 ? &target
                            : strcmp(a, "--json") == 0   ? &json
                            : strcmp(a, "--device") == 0 ? &selector
                            : strcmp(a, "--ckpt") == 0   ? &job.ckpt_root
                                                         : NULL;
        if (slot) {
            if (!(*slot = cli_value("train", argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--resume") == 0) {
            resume = true;
        } else if (a[0] == '-') {
            return cli_usage_error("train", "unknown option '%s'", a);
        } else if (!dir) {
            dir = a;
        } else {
            return cli_usage_error("train", "unexpected argument '%s'", a);
        }
    }
    if (!dir) return cli_usage_error("train", "missing the dataset directory");
    if (strcmp(job.model, "pop") && strcmp(job.model, "sasrec") && strcmp(job.model, "gencdr"))
        return cli_usage_error("train", "--model expects pop, sasrec or gencdr, got '%s'", job.model);
    job.data_dir = dir;
    if (resume && !job.ckpt_root) return cli_usage_error("train", "--resume needs --ckpt DIR");
    job.sasrec.resume = resume;
    job.gencdr.resume = resume;
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
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    if (strcmp(job.model, "pop") != 0) s = cli_open_backend(selector, &inst, &dev);
    cJSON* results = cJSON_CreateArray();
    if (s == VKR_OK) cli_rec_table_header(stdout);
    if (s == VKR_OK && strcmp(job.model, "gencdr") == 0) s = cli_rec_run_gencdr(&ds, dev, &job, results, stdout);
    for (uint32_t d = first; d < last && s == VKR_OK && strcmp(job.model, "gencdr") != 0; d++)
        s = cli_rec_run(&ds, dev, &job, d, results, stdout);
    int rc = s == VKR_OK ? CLI_OK : cli_fail("train", s);
    if (rc == CLI_OK && json) {
        s = cli_write_json(results, json);
        if (s != VKR_OK) rc = cli_fail("train", s);
    }
    cJSON_Delete(results);
    cli_close_device(inst, dev);
    vkr_dataset_free(&ds);
    return rc;
}
