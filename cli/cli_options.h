/* The vkrec command line's option tables. Each command declares its positionals and options once in a
 * cli_spec (name, kind, destination, range or choices, default shown, one-line help); cli_parse reads
 * argv against it (`--opt value` and `--opt=value`, range checks whose errors name the option and the
 * accepted values, exit code CLI_USAGE) and cli_print_help writes `vkrec help CMD` from the same spec.
 * Options shared by several commands (device, quiet, JSON, seed; the recommender's training options of
 * `train` and `run`; the data options of `prepare` and `run`) are declared once and included by reference.
 *
 * Destinations are offsets into one of CLI_BASE_COUNT structs the caller passes to cli_parse: the
 * cli_common struct, the command's own options struct, a shared struct (cli_rec_args for `train` and
 * `run`) and the data options (cli_prep_args for `prepare` and `run`). Destination types per kind:
 * FLAG bool, UINT and UINTS unsigned (uint32_t), FLOAT float, STRING const char* (the argv string
 * itself), CHOICE int (index into choices), UINTS cli_uint_list, STRINGS cli_str_list (repeatable
 * option), CUSTOM whatever its parse callback fills. */
#ifndef VKR_CLI_OPTIONS_H
#define VKR_CLI_OPTIONS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_LIST_MAX 16            /* most values of a list option or repeated positional */
#define CLI_UINT_LIMIT 1000000000u /* default upper bound of an integer option */

/* How an option's value is read. */
typedef enum cli_opt_kind {
    CLI_OPT_FLAG,    /* no value: sets a bool */
    CLI_OPT_UINT,    /* an integer in [min, max] */
    CLI_OPT_FLOAT,   /* a number in the range min..max (ends open per CLI_MIN_OPEN / CLI_MAX_OPEN) */
    CLI_OPT_STRING,  /* any text */
    CLI_OPT_CHOICE,  /* one of choices: stores its index */
    CLI_OPT_UINTS,   /* comma-separated integers, each in [min, max], at most max_count */
    CLI_OPT_STRINGS, /* text, repeatable up to max_count times */
    CLI_OPT_CUSTOM,  /* read by the parse callback */
} cli_opt_kind;

/* Which struct an offset is relative to. */
typedef enum cli_base {
    CLI_BASE_COMMON,  /* cli_common */
    CLI_BASE_COMMAND, /* the command's own options struct */
    CLI_BASE_SHARED,  /* a struct shared by a few commands (cli_rec_args) */
    CLI_BASE_DATA,    /* the data options of prepare and run (cli_prep_args) */
    CLI_BASE_COUNT
} cli_base;

enum { CLI_MIN_OPEN = 1, CLI_MAX_OPEN = 2 }; /* FLOAT: the bound itself is not accepted */

/* Destination of CLI_OPT_UINTS. */
typedef struct cli_uint_list {
    uint32_t count;            /* values given */
    uint32_t v[CLI_LIST_MAX];  /* the values */
} cli_uint_list;

/* Destination of CLI_OPT_STRINGS and of a positional taking several values. */
typedef struct cli_str_list {
    uint32_t count;              /* values given */
    const char* v[CLI_LIST_MAX]; /* the values (argv strings) */
} cli_str_list;

/* Options every command may include: their destinations. */
typedef struct cli_common {
    const char* device;    /* --device INDEX|NAME|cpu (NULL: VKR_DEVICE or the best) */
    bool quiet;            /* --quiet */
    bool json;             /* --json as a flag: print JSON */
    const char* json_file; /* --json FILE: also write JSON there */
    bool force;            /* --force: replace output files that are not vkrec's (cli_output.h) */
    uint32_t seed;         /* --seed N (0: not given, the command's default) */
} cli_common;

/* One option. */
typedef struct cli_option {
    const char* name;    /* "--epochs" */
    const char* metavar; /* value placeholder in help ("N"); NULL for flags and choices */
    cli_opt_kind kind;   /* how the value is read */
    cli_base base;       /* struct the offsets are relative to */
    size_t offset;       /* destination */
    bool twin;           /* UINT, FLOAT, FLAG: also stored at twin_offset (SASRec's and GenCDR's settings) */
    size_t twin_offset;  /* second destination when twin */
    size_t twin_offset2; /* third destination when twin and nonzero (SemaCDR's settings) */
    double min, max;     /* UINT, UINTS, FLOAT: accepted range */
    unsigned open;       /* FLOAT: CLI_MIN_OPEN | CLI_MAX_OPEN */
    const char* const* choices; /* CHOICE: NULL-terminated */
    uint32_t max_count;         /* UINTS, STRINGS: most values */
    /* CUSTOM: reads value into dest; false after printing a usage error */
    bool (*parse)(const char* command, const char* option, const char* value, void* dest);
    const char* def;  /* default shown in help, or NULL */
    const char* help; /* one line */
} cli_option;

/* One positional argument (several values when max > 1: destination cli_str_list, else const char*); a spec
 * declares at most CLI_LIST_MAX of them. */
typedef struct cli_positional {
    const char* name; /* placeholder in the usage line ("DIR") */
    const char* what; /* for "... is required" ("a dataset directory") */
    size_t offset;    /* destination in the command's struct */
    uint32_t min;     /* values required */
    uint32_t max;     /* values accepted */
} cli_positional;

/* Options declared together and included as one by several commands (train and run; prepare and run). */
typedef struct cli_option_group {
    const cli_option* options; /* the options */
    size_t count;              /* entries */
} cli_option_group;

/* A command's whole command line. */
typedef struct cli_spec {
    const char* name;                      /* "embed" */
    const char* description;               /* prose after the usage line */
    const cli_positional* positionals;     /* in order; may be NULL */
    uint32_t positional_count;             /* entries of positionals */
    const cli_option* options;             /* the command's own options */
    size_t option_count;                   /* entries of options */
    const cli_option_group* const* groups; /* NULL-terminated: shared groups, by reference (may be NULL) */
    const cli_option* const* shared;       /* NULL-terminated: shared single options, by reference */
    const char* const* defaults;           /* NULL-terminated name, default pairs overriding options' def */
} cli_spec;

/* Parses argv (argv[0] is the command name) into the structs bases[] point to (NULL where the spec uses
 * none); returns CLI_OK, or CLI_USAGE after a message naming the option or argument. */
int cli_parse(const cli_spec* spec, int argc, char** argv, void* const bases[CLI_BASE_COUNT]);
/* Writes `vkrec help NAME`: the usage line, the description and every option with default and help. */
void cli_print_help(const cli_spec* spec, FILE* out);

/* Shared options (cli_common destinations). */
extern const cli_option cli_opt_device;    /* --device INDEX|NAME|cpu */
extern const cli_option cli_opt_gpu;       /* --device INDEX|NAME, for commands that need Vulkan */
extern const cli_option cli_opt_quiet;     /* --quiet */
extern const cli_option cli_opt_json;      /* --json (print JSON) */
extern const cli_option cli_opt_json_file; /* --json FILE */
extern const cli_option cli_opt_force;     /* --force (output files) */
extern const cli_option cli_opt_seed;      /* --seed N */

/* .options and .option_count of a spec from the array A. */
#define CLI_OWN_OPTIONS(A) .options = A, .option_count = sizeof A / sizeof *A
/* .positionals and .positional_count of a spec from the array A. */
#define CLI_POSITIONALS(A) .positionals = A, .positional_count = sizeof A / sizeof *A
#define CLI_FIELD_(B, TYPE, FIELD) .base = CLI_BASE_##B, .offset = offsetof(TYPE, FIELD)
/* Table entries: B is COMMON, COMMAND, SHARED or DATA; TYPE.FIELD the destination. */
#define CLI_FLAG(B, NAME, TYPE, FIELD, HELP)                                                                           \
    {.name = NAME, .kind = CLI_OPT_FLAG, CLI_FIELD_(B, TYPE, FIELD), .help = HELP}
#define CLI_UINT(B, NAME, META, TYPE, FIELD, MIN, MAX, DEF, HELP)                                                      \
    {.name = NAME, .metavar = META, .kind = CLI_OPT_UINT, CLI_FIELD_(B, TYPE, FIELD), .min = MIN, .max = MAX,          \
     .def = DEF, .help = HELP}
#define CLI_FLOAT(B, NAME, META, TYPE, FIELD, MIN, MAX, OPEN, DEF, HELP)                                               \
    {.name = NAME, .metavar = META, .kind = CLI_OPT_FLOAT, CLI_FIELD_(B, TYPE, FIELD), .min = MIN, .max = MAX,         \
     .open = OPEN, .def = DEF, .help = HELP}
#define CLI_STRING(B, NAME, META, TYPE, FIELD, DEF, HELP)                                                              \
    {.name = NAME, .metavar = META, .kind = CLI_OPT_STRING, CLI_FIELD_(B, TYPE, FIELD), .def = DEF, .help = HELP}
#define CLI_CHOICE(B, NAME, TYPE, FIELD, CHOICES, DEF, HELP)                                                           \
    {.name = NAME, .kind = CLI_OPT_CHOICE, CLI_FIELD_(B, TYPE, FIELD), .choices = CHOICES, .def = DEF, .help = HELP}
#define CLI_UINTS(B, NAME, META, TYPE, FIELD, MIN, MAX, COUNT, DEF, HELP)                                              \
    {.name = NAME, .metavar = META, .kind = CLI_OPT_UINTS, CLI_FIELD_(B, TYPE, FIELD), .min = MIN, .max = MAX,         \
     .max_count = COUNT, .def = DEF, .help = HELP}
#define CLI_STRINGS(B, NAME, META, TYPE, FIELD, COUNT, HELP)                                                           \
    {.name = NAME, .metavar = META, .kind = CLI_OPT_STRINGS, CLI_FIELD_(B, TYPE, FIELD), .max_count = COUNT,          \
     .help = HELP}
#define CLI_CUSTOM(B, NAME, META, TYPE, FIELD, PARSE, DEF, HELP)                                                       \
    {.name = NAME, .metavar = META, .kind = CLI_OPT_CUSTOM, CLI_FIELD_(B, TYPE, FIELD), .parse = PARSE, .def = DEF,    \
     .help = HELP}

#endif
