/* Data-parallel scaling of training (`vkrec bench dp`, and `vkrec bench train --ranks 1,2,...`):
 * the bench's SASRec BCE step (2 blocks, hidden 64, length 50, 10,000 items) with its global batch of
 * 256 split over the ranks of an MPI launch, the gradients summed with MPI_Allreduce between backward
 * and update as `vkrec train` does, on the GPU and the CPU backends. `bench dp` measures inside each
 * rank of its own launch; `bench train --ranks` starts one launch per rank count (mpirun -np R, each
 * rank with its share of the machine's threads) and reports each beside the 1-rank launch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "vkr_dist.h"
#include "vkr_exec.h"
#include "cli_json.h"
#include "vkr_sasrec.h"

enum { DP_GLOBAL_BATCH = 256 };

static vkr_status dp_allreduce(void* user, float* grads, uint64_t count) {
    (void)user;
    float scale = 1.0f / (float)vkr_dist_size(); /* equal shares: the mean of the ranks' gradients */
    for (uint64_t i = 0; i < count; i++) grads[i] *= scale;
    return vkr_dist_sum_f32(grads, count);
}

static vkr_status dp_one(vkr_bench* b, vkr_device* dev) {
    uint32_t ranks = vkr_dist_size();
    if (DP_GLOBAL_BATCH % ranks)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "bench dp: %u ranks do not divide the batch of %u", ranks,
                        DP_GLOBAL_BATCH);
    vkr_sasrec_config c = bench_sasrec_config(VKR_SASREC_BCE, DP_GLOBAL_BATCH / ranks);
    bench_sasrec_step step;
    VKR_TRY(bench_sasrec_open(dev, &c, vkr_dist_rank(), &step)); /* each rank its own rows */
    vkr_status s = ranks > 1 ? vkr_exec_set_grad_hook(step.ex, dp_allreduce, NULL) : VKR_OK;
    uint64_t before = vkr_dist_bytes();
    if (s == VKR_OK) s = vkr_exec_run(step.ex); /* one step: the bytes it all-reduces */
    uint64_t step_bytes = vkr_dist_bytes() - before;
    vkr_bench slow = *b;
    slow.runs = b->runs < 3 ? b->runs : 3;
    slow.warmup = 1;
    vkr_bench_stats wall;
    vkr_bench_unit unit = {"seq/s", DP_GLOBAL_BATCH};
    if (s == VKR_OK) s = vkr_bench_measure(&slow, bench_sasrec_run, &step, unit, &wall, NULL, NULL);
    if (s == VKR_OK) {
        cJSON* p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "ranks", ranks);
        cJSON_AddNumberToObject(p, "batch", DP_GLOBAL_BATCH);
        cJSON_AddNumberToObject(p, "rank_batch", c.batch);
        cJSON_AddNumberToObject(p, "allreduce_bytes_per_step", (double)step_bytes);
        cJSON_AddStringToObject(p, "backend", dev ? "gpu" : "cpu");
        char name[64];
        snprintf(name, sizeof name, "dp_sasrec_bce_%s", dev ? "gpu" : "cpu");
        vkr_bench_report(b, "dp", name, p, unit, &wall, NULL, NULL, NULL);
    }
    bench_sasrec_close(&step);
    return s;
}

vkr_status vkr_bench_suite_dp(vkr_bench* b) {
    VKR_TRY(dp_one(b, b->dev));
    return dp_one(b, NULL);
}

/* The launcher: the build's mpiexec, else mpirun on PATH. */
static const char* dp_mpiexec(void) {
#ifdef VKR_MPIEXEC
    if (access(VKR_MPIEXEC, X_OK) == 0) return VKR_MPIEXEC;
#endif
    return "mpirun";
}

/* Runs `vkrec bench dp` under `mpirun -np ranks` into json_path. */
static vkr_status dp_launch(const vkr_bench* b, uint32_t ranks, const char* json_path) {
    char exe[1024];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return vkr_fail(VKR_ERR_IO, "bench train --ranks: cannot find this executable's path");
    exe[len] = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long threads = cores > (long)ranks ? cores / (long)ranks : 1; /* each rank its share of the cores */
    char device[300] = "";
    if (b->device_selector && *b->device_selector) snprintf(device, sizeof device, "--device '%s'", b->device_selector);
    /* one node: Open MPI's isolated launcher needs no ssh */
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=%ld OPENBLAS_NUM_THREADS=%ld LP_NUM_THREADS=%ld OMPI_ALLOW_RUN_AS_ROOT=1 "
             "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_plm=isolated OMPI_MCA_btl_vader_single_copy_mechanism=none '%s' -np %u "
             "--oversubscribe "
             "-x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS -x LP_NUM_THREADS '%s' bench dp --runs %u --warmup %u "
             "%s --quiet --force --json '%s' > /dev/null 2>&1",
             threads, threads, threads, dp_mpiexec(), ranks, exe, b->runs, b->warmup, device, json_path);
    int rc = system(cmd);
    if (rc != 0)
        return vkr_fail(VKR_ERR_IO, "bench train --ranks: 'mpirun -np %u vkrec bench dp' failed (status %d; is Open MPI "
                        "installed? try it by hand)", ranks, rc);
    return VKR_OK;
}

vkr_status vkr_bench_train_ranks(vkr_bench* b) {
    if (!vkr_dist_built())
        return vkr_fail(VKR_ERR_UNSUPPORTED, "bench train --ranks: this vkrec was built without MPI (install "
                        "libopenmpi-dev and rebuild)");
    char dir[] = "/tmp/vkrec-dp-XXXXXX";
    if (!mkdtemp(dir)) return vkr_fail(VKR_ERR_IO, "bench train --ranks: cannot create a temporary directory");
    cJSON* base[2] = {NULL, NULL}; /* the 1-rank launch's results: gpu, cpu */
    cJSON* docs[VKR_BENCH_MAX_SIZES] = {0};
    vkr_status s = VKR_OK;
    for (uint32_t k = 0; k < b->rank_count && s == VKR_OK; k++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/r%u.json", dir, b->ranks[k]);
        s = dp_launch(b, b->ranks[k], path);
        if (s == VKR_OK && !(docs[k] = cli_json_read(path)))
            s = vkr_fail(VKR_ERR_FORMAT, "bench train --ranks: the %u-rank launch wrote no readable %s", b->ranks[k], path);
        remove(path);
        cJSON* results = s == VKR_OK ? cJSON_GetObjectItem(docs[k], "results") : NULL;
        cJSON* r = NULL;
        cJSON_ArrayForEach(r, results) {
            cJSON* params = cJSON_GetObjectItem(r, "params");
            const char* name = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
            double median = cJSON_GetNumberValue(cJSON_GetObjectItem(r, "median"));
            int gpu = name && strstr(name, "_gpu") ? 0 : 1;
            if (b->ranks[k] == 1) base[gpu] = r;
            vkr_bench_stats wall = {median, cJSON_GetNumberValue(cJSON_GetObjectItem(r, "min")),
                                    cJSON_GetNumberValue(cJSON_GetObjectItem(r, "max")),
                                    (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "runs"))};
            double one = base[gpu] ? cJSON_GetNumberValue(cJSON_GetObjectItem(base[gpu], "median")) : 0;
            vkr_bench_stats ps = {one, one, one, 1};
            char label[80];
            snprintf(label, sizeof label, "%s_r%u", name ? name : "dp", b->ranks[k]);
            vkr_bench_report(b, "train", label, cJSON_Duplicate(params, true), (vkr_bench_unit){"seq/s", DP_GLOBAL_BATCH},
                             &wall, NULL, "1-rank", base[gpu] && b->ranks[k] != 1 ? &ps : NULL);
        }
    }
    for (uint32_t k = 0; k < b->rank_count; k++) cJSON_Delete(docs[k]);
    rmdir(dir);
    return s;
}
