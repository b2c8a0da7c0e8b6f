/* The data options `vkrec prepare` and `vkrec run` share (CLI_BASE_DATA of cli_prep_group): the
 * source's format, found from the files present when --format is omitted, the filters and the domain
 * names. Declared once; each command adds its own spelling of the split (prepare --split, run
 * --data-split, as run's --split picks the evaluated split) from cli_prep_split_choices.
 *
 * Format detection (cli_prep_args_apply, --format omitted) on the first source:
 *   a file                                  -> csv (INTERACTIONS, the second source ITEMS)
 *   a directory with num.txt                -> llmcdsr release
 *   a directory with Alist.txt and Blist.txt -> c2dsr release
 *   a directory with interactions.{csv,tsv} -> csv, with items.{csv,tsv} when present
 *   a directory of *.json[l][.gz] files     -> amazon: one domain per reviews file, named after it
 *                                              (reviews_Books_5.json.gz -> Books), meta_NAME.* its metadata
 * A directory given with --format csv or amazon is searched the same way. A missing source or a
 * directory none of these match is a usage error naming the path. Domain names come from the data
 * (A and B for a release, the domain column of a CSV, the Amazon file names) unless --domain-names. */
#ifndef VKR_CLI_PREPARE_H
#define VKR_CLI_PREPARE_H
#include "cli_stages.h"

#define CLI_PREP_PATH_MAX 4200 /* longest path the detection builds */

/* The data options as parsed, and the paths detection builds. */
typedef struct cli_prep_args {
    cli_prepare_options o;             /* the stage's options (format, sources and names set by apply) */
    int format;                        /* --format: index into the formats, -1 when not given */
    int split;                         /* --split / --data-split: index into cli_prep_split_choices */
    bool overlap_on, overlap_off;      /* --overlap-only, --no-overlap-only */
    const char* domain_names;          /* --domain-names A,B */
    char names[2][VKR_DATA_NAME_MAX];  /* its two names */
    char paths[2][CLI_PREP_PATH_MAX];  /* csv files found in a directory */
    char amazon[VKR_DATA_MAX_DOMAINS][2 * CLI_PREP_PATH_MAX + VKR_DATA_NAME_MAX]; /* NAME=REVIEWS[,META] found */
} cli_prep_args;

/* The shared options (destinations in cli_prep_args). */
extern const cli_option_group cli_prep_group;
/* loo, given (the vkr_split_mode order), NULL. */
extern const char* const cli_prep_split_choices[];
/* Fills args with prepare's defaults (leave-one-out; k-core 10/3 and overlap for 2+ domains); with
 * `filters` false the filters stay off unless --min-item, --min-user or --overlap-only is given (the
 * others then take their defaults). argc/argv are recorded in dataset.json. */
void cli_prep_args_init(cli_prep_args* args, bool filters, int argc, char** argv);
/* Detects the format when not given, finds the files of a directory source, checks what goes together and
 * moves the choices into args->o; CLI_OK, or CLI_USAGE after a message naming `command` and the path. */
int cli_prep_args_apply(cli_prep_args* args, const char* command);
/* One line for a report: "format F; filters ..." from a dataset's dataset.json (ds->meta) into buf. */
const char* cli_prep_describe(const vkr_dataset* ds, char* buf, size_t size);

#endif
