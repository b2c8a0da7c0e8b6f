/* Shared pieces of the vkrec command line: the command table, usage errors, backend opening. */
#ifndef VKR_CLI_H
#define VKR_CLI_H
#include <stdbool.h>

#include "cli_options.h"
#include "vkr_runtime.h"

/* Exit codes: 0 success, 1 the work failed, 2 bad usage. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* One subcommand. */
typedef struct cli_command {
    const char* name;    /* e.g. "bench" */
    const char* summary; /* one line for `vkrec help` */
    const cli_spec* spec; /* its options: `vkrec help NAME` is written from them */
    int (*run)(int argc, char** argv); /* argv[0] is the command name */
} cli_command;

/* Prints "vkrec NAME: message" to stderr and returns CLI_USAGE. */
int cli_usage_error(const char* command, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "vkrec NAME: <vkr_last_error()>" and returns CLI_FAILED. */
int cli_fail(const char* command, vkr_status status);
/* Opens the device chosen by `selector` (NULL: VKR_DEVICE or the best). */
vkr_status cli_open_device(const char* selector, vkr_instance** out_instance, vkr_device** out_device);
/* As cli_open_device, but "cpu" opens nothing (both out-parameters NULL: the CPU reference backend). */
vkr_status cli_open_backend(const char* selector, vkr_instance** out_instance, vkr_device** out_device);
/* True in the process that prints and writes: rank 0 of a data-parallel (MPI) launch, or the only one. */
bool cli_is_lead(void);
/* The backend's name for reports: the device's, or "cpu" for NULL (the CPU reference backend). */
const char* cli_backend_name(const vkr_device* device);
/* Releases what cli_open_device opened; reports validation messages counted meanwhile. */
void cli_close_device(vkr_instance* instance, vkr_device* device);

/* The commands (cmd_NAME.c): their option tables and entry points. */
extern const cli_spec cli_devices_spec, cli_train_spec, cli_recommend_spec, cli_run_spec, cli_bench_spec,
    cli_prepare_spec, cli_stats_spec, cli_embed_spec, cli_tokenize_spec, cli_trie_spec, cli_tsne_spec,
    cli_align_spec, cli_view_spec, cli_categories_spec, cli_ablate_spec;
int cli_cmd_devices(int argc, char** argv);
int cli_cmd_train(int argc, char** argv);
int cli_cmd_recommend(int argc, char** argv);
int cli_cmd_run(int argc, char** argv);
int cli_cmd_bench(int argc, char** argv);
int cli_cmd_prepare(int argc, char** argv);
int cli_cmd_stats(int argc, char** argv);
int cli_cmd_embed(int argc, char** argv);
int cli_cmd_tokenize(int argc, char** argv);
int cli_cmd_trie(int argc, char** argv);
int cli_cmd_tsne(int argc, char** argv);
int cli_cmd_align(int argc, char** argv);
int cli_cmd_view(int argc, char** argv);
int cli_cmd_categories(int argc, char** argv);
int cli_cmd_ablate(int argc, char** argv);

#endif
