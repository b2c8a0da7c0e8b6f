/* Shared pieces of the vkrec command line: the command table, argument helpers, device opening. */
#ifndef VKR_CLI_H
#define VKR_CLI_H
#include <stdbool.h>

#include "vkr_runtime.h"

/* Exit codes: 0 success, 1 the work failed, 2 bad usage. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* One subcommand. */
typedef struct cli_command {
    const char* name;    /* e.g. "bench" */
    const char* summary; /* one line for `vkrec help` */
    const char* usage;   /* full text for `vkrec help NAME` */
    int (*run)(int argc, char** argv); /* argv[0] is the command name */
} cli_command;

/* Prints "vkrec NAME: message" to stderr and returns CLI_USAGE. */
int cli_usage_error(const char* command, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "vkrec NAME: <vkr_last_error()>" and returns CLI_FAILED. */
int cli_fail(const char* command, vkr_status status);
/* Returns the value after option argv[*i] (advancing *i), or NULL after printing a usage error. */
const char* cli_value(const char* command, int argc, char** argv, int* i);
/* Parses a positive integer option value; false (after a usage error) when malformed. */
bool cli_parse_uint(const char* command, const char* option, const char* text, unsigned* out);
/* Opens the device chosen by `selector` (NULL: VKR_DEVICE or the best). */
vkr_status cli_open_device(const char* selector, vkr_instance** out_instance, vkr_device** out_device);
/* Releases what cli_open_device opened; reports validation messages counted meanwhile. */
void cli_close_device(vkr_instance* instance, vkr_device* device);

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

#endif
