/* One "run" of a model from .npy files named like shared/models/NAME.io:
 *   <dir>/input_<k>_<tensor>.npy and <dir>/<ref>_<k>_<tensor>.npy (ref = "output" or "expected"),
 * where <tensor> is the graph input/output name with every char outside [A-Za-z0-9_.-] replaced
 * by '_', and all files with the same k form one run. */
#ifndef TC_RUNSET_H
#define TC_RUNSET_H

#include <stddef.h>
#include <stdint.h>

#include "octet.h"

/* Replace every char outside [A-Za-z0-9_.-] by '_'. */
void tc_sanitize_name(const char *name, char *out, size_t n);

/* The distinct k of files "<prefix>_<k>_*.npy" in dir, sorted ascending, into *ks (free()).
 * Returns the count, or -1 if dir cannot be read. */
int tc_list_runs(const char *dir, const char *prefix, int64_t **ks);

/* Inputs of run k, bound to graph input names. */
typedef struct tc_inputs {
    int n;
    const char **names;       /* the model's own strings */
    octet_tensor **tensors;
} tc_inputs;

/* Load every input_<k>_*.npy of dir and match it to a graph input of m. A file that matches no
 * input (or several) is an error; an input without a file is left unbound. Returns 0, or -1 with
 * a message in err. */
int tc_load_inputs(const char *dir, int64_t k, const octet_model *m, tc_inputs *out, char *err, size_t errn);
void tc_inputs_free(tc_inputs *in);

/* Load the reference of every graph output for run k: refs[i] = <dir>/<prefix>_<k>_<output i>.npy
 * (refs has octet_model_output_count(m) slots). A missing file, or a file that matches no output,
 * is an error. Returns 0, or -1 with a message in err (refs then all NULL). */
int tc_load_refs(const char *dir, const char *prefix, int64_t k, const octet_model *m,
                 octet_tensor **refs, char *err, size_t errn);

/* Whether a file exists. */
int tc_file_exists(const char *path);
/* The first line of a text file into buf ("" if unreadable); returns buf. */
char *tc_read_first_line(const char *path, char *buf, size_t n);

#endif
