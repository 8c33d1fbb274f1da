/* Shared pieces of the octet command-line tool: the subcommand table, error reporting, option
 * parsing, and binding .npy/.npz files to a model's inputs. */
#ifndef OCTET_CLI_H
#define OCTET_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/graph.h"
#include "octet.h"

/* Exit codes. */
enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);   /* argv[0] is the command name */
    const char *summary;
} cli_command;

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_compare(int argc, char **argv);
/* octet quantize --mode dynamic (cmd_quantize_dynamic.c); cmd_quantize hands it the same argv. */
int cmd_quantize_dynamic(int argc, char **argv);

/* Print "octet: error: <message>" to stderr and return code. */
int cli_error(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Report the library's last error; returns CLI_RUNTIME. */
int cli_fail(void);

/* Option parsing over argv[*i]: matches "--name VALUE" and "--name=VALUE". Returns 1 and sets
 * *val (advancing *i past a separate value) on a match, 0 if argv[*i] is another argument, -1
 * (after printing a usage error) if the value is missing. */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **val);
/* True for "-h" / "--help". */
bool cli_is_help(const char *arg);
/* Parse a whole decimal integer in [lo, hi] for option opt; prints a usage error if it is not. */
bool cli_parse_int(const char *opt, const char *s, long lo, long hi, int *out);
/* *index = the position of s among the n names of option opt; prints a usage error listing them if
 * s is none of them ("--format must be qdq or qoperator, not 'x'"). */
bool cli_parse_choice(const char *opt, const char *s, const char *const *names, int n, int *index);

/* Load a model (prints the error and returns false on failure). */
bool cli_load_model(const char *path, octet_model **m);

/* Named input tensors given on the command line. */
typedef struct cli_inputs {
    int n, cap;
    char **names;
    char **sources;          /* the file each came from, for messages */
    octet_tensor **tensors;
} cli_inputs;

/* Add a tensor (taken, even on failure) under name; source names its origin in messages. */
int cli_inputs_add(cli_inputs *in, const char *name, const char *source, octet_tensor *t);
/* --input NAME=FILE.npy: returns CLI_OK, or the code of the error it printed. */
int cli_inputs_add_spec(cli_inputs *in, const char *spec);
/* --inputs FILE.npz: every array of the archive, by its name. */
int cli_inputs_add_npz(cli_inputs *in, const char *path);
/* Check the inputs against m: each names a graph input (usage error if not), its dtype and rank
 * fit the declaration. With require_all, a missing input is a usage error. */
int cli_inputs_check(const cli_inputs *in, const octet_model *m, bool require_all);
int cli_inputs_find(const cli_inputs *in, const char *name);
void cli_inputs_free(cli_inputs *in);

/* The graph inputs a caller must feed (not backed by an initializer), in graph order. */
bool cli_is_real_input(const ot_graph *g, const ot_value_info *vi);

/* "float32[batch,3,224,224]", "bool[]", "float32[?...]" (rank unknown). */
char *cli_value_type_str(const ot_value_info *vi, char *buf, size_t n);
/* "float32[2,3]" for a tensor. */
char *cli_tensor_type_str(const octet_tensor *t, char *buf, size_t n);
/* A file name from a tensor name: chars outside [A-Za-z0-9_.-] become '_'. */
void cli_sanitize_name(const char *name, char *out, size_t n);
/* mkdir -p. Returns false after printing an error. */
bool cli_make_dirs(const char *path);
/* Milliseconds from a monotonic clock. */
double cli_now_ms(void);

#endif
