/* Data sets for `octet quantize --mode static --calib` and `octet compare --data`: one iterator over
 *   - a .npy file (single-input models), samples on axis 0,
 *   - a .npz archive (arrays named after the model's inputs; one array for a single-input model),
 *   - a folder of .npy/.npz files (taken in sorted name order, batches run across files),
 *   - a folder of PNG/JPEG images (one sample each; decoded, resized, normalized: see docs/CLI.md).
 * Shapes are checked against the model's inputs before anything runs. An array whose rank is the
 * input's rank holds samples on axis 0 (batched: [S, ...] -> runs of [n, ...]); one more axis than the
 * input means each item is one whole input ([K, 50, 1, 256] for a fixed [50, 1, 256] input: one run per
 * item). A fixed batch dimension in the model sets the run size. Errors print one line and return a
 * CLI exit code. */
#ifndef OCTET_CALIB_DATA_H
#define OCTET_CALIB_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "octet.h"

typedef enum calib_layout { CALIB_LAYOUT_AUTO = 0, CALIB_LAYOUT_NCHW, CALIB_LAYOUT_NHWC } calib_layout;

typedef struct calib_data_options {
    int batch;              /* samples per run (default 32); a fixed batch dimension in the model wins */
    int64_t max_samples;    /* use the first N samples (0 = all) */
    /* images */
    int height, width;      /* --size HxW (0 = from the model's input shape) */
    int resize;             /* --resize N: shorter side to N, aspect kept (0 = off) */
    int crop_h, crop_w;     /* --crop HxW: center crop after any resize (0 = off) */
    int channels;           /* --channels 1|3 (0 = from the model, else 3) */
    float mean[3], std[3];  /* --mean / --std, one value or one per channel */
    int n_mean, n_std;      /* 0 = not given (mean 0, std 1) */
    calib_layout layout;    /* --layout (auto: from the model's input shape) */
} calib_data_options;

typedef struct calib_data calib_data;

void calib_data_options_init(calib_data_options *o);
/* The image options (--size, --resize, --crop, --channels, --mean, --std, --layout) at argv[*i]:
 * 1 matched (*i advanced past a separate value), 0 not one of them, -1 a bad value (usage error printed). */
int calib_data_parse_opt(calib_data_options *o, int argc, char **argv, int *i);
/* Help lines for those options. */
const char *calib_data_options_help(void);

/* Open and check everything (every file's shape, every image's header). Returns CLI_OK or the code of
 * the error it printed. m must outlive the reader. */
int calib_data_open(calib_data **out, const char *path, const octet_model *m, const calib_data_options *o);
void calib_data_free(calib_data *d);

/* Samples the iteration will yield (after max_samples, and after dropping a last partial batch when
 * the model fixes the batch size). */
int64_t calib_data_samples(const calib_data *d);
/* Samples available before max_samples. */
int64_t calib_data_available(const calib_data *d);
/* Number of tensors per batch = the model's real inputs, in graph order. */
int calib_data_input_count(const calib_data *d);
/* "1024 samples from fmnist.npy", for messages. */
const char *calib_data_describe(const calib_data *d);

/* Next batch: *batch[i] for input i (owned by the reader, valid until the next call), *n samples.
 * Returns 1, 0 at the end, or -1 after printing an error. */
int calib_data_next(calib_data *d, octet_tensor *const **batch, int64_t *n);
/* Start again from the first sample. */
void calib_data_rewind(calib_data *d);
/* Yield at most n samples from now on (rounded up to whole runs when the model fixes the batch size). */
void calib_data_limit(calib_data *d, int64_t n);

/* A progress bar on stderr ("calibrating [#####.....] 128/256 samples 3.2 s"), only when stderr is a
 * terminal; the line is erased at the end so stdout stays clean. */
typedef struct cli_progress {
    bool on;
    const char *label;
    int64_t total;
    double t0, last;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *label, int64_t total);
void cli_progress_update(cli_progress *p, int64_t done);
void cli_progress_end(cli_progress *p);

#endif
