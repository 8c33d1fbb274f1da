/* How close a quantized model stays to its float original: per-output error metrics over a data set,
 * and per-layer SQNR of every quantized tensor against its float twin (as PyTorch's Numeric Suite
 * does). The CLI's `octet compare` and `octet quantize --mode static` print these; the API is
 * internal for now but written so octet.h could expose it. */
#ifndef OT_COMPARE_H
#define OT_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"

/* Running sums of a test tensor y against a reference x, over any number of batches. */
typedef struct ot_cmp_acc {
    double sxx, syy, sxy, sdd;   /* sums of x^2, y^2, x*y, (x-y)^2 */
    double max_abs;              /* max |x - y| */
    int64_t n;                   /* elements summed */
    int64_t nonfinite;           /* positions where x or y was NaN or +-inf (left out of the sums) */
    int64_t rows, agree;         /* top-1: rows compared, rows where argmax x == argmax y */
    int64_t labeled, correct_ref, correct_test;  /* rows with a label, rows each model got right */
} ot_cmp_acc;

/* Add n elements. */
void ot_cmp_add(ot_cmp_acc *a, const float *x, const float *y, int64_t n);
/* Add rows x classes scores (row-major) to the top-1 counts; labels (NULL = none) holds one class
 * per row. argmax is numpy's: the first maximum, a NaN counts as the maximum. */
void ot_cmp_add_top1(ot_cmp_acc *a, const float *x, const float *y, int64_t rows, int64_t classes,
                     const int64_t *labels);
void ot_cmp_merge(ot_cmp_acc *dst, const ot_cmp_acc *src);
/* 20*log10(|x| / |x - y|) = 10*log10(sum x^2 / sum (x-y)^2) in dB: +inf when y == x exactly,
 * -inf when x is all zero and y is not. NaN when nothing was summed. */
double ot_cmp_sqnr_db(const ot_cmp_acc *a);
/* x.y / (|x| |y|) over everything summed; 1 when both are all zero, 0 when only one is. */
double ot_cmp_cosine(const ot_cmp_acc *a);
/* numpy-style argmax of n values. */
int64_t ot_argmax_f32(const float *v, int64_t n);

/* ---- comparing two models on the same inputs ---- */

typedef struct ot_compare ot_compare;

typedef struct ot_compare_options {
    int threads;      /* threads for running the models (0 = all cores, as a session) */
    bool per_layer;   /* also pair and compare every quantized tensor (slower, keeps a batch of activations) */
} ot_compare_options;

/* One quantized tensor of the test model, compared (dequantized) with its float twin. */
typedef struct ot_layer_result {
    const char *name;      /* the float tensor in the reference model */
    const char *qname;     /* the quantized tensor in the test model */
    const char *ref_op;    /* op type that produces it in the reference ("input" for a graph input) */
    const char *test_op;   /* op type that produces the quantized tensor as octet runs the test model */
    ot_cmp_acc acc;
} ot_layer_result;

/* Both models run in octet sessions; with per_layer, on hooked plans instead: ref as written, test
 * through the session's rewrites but the layout passes (QDQ fused into integer operators, names kept).
 * Both must outlive the comparer. Outputs pair by name (by position if no names match and the counts
 * agree); inputs by name. */
octet_status ot_compare_create(ot_compare **out, const octet_model *ref, const octet_model *test,
                               const ot_compare_options *opts);
void ot_compare_free(ot_compare *c);

/* The inputs the models take (graph inputs not backed by an initializer), in the reference's order. */
int ot_compare_input_count(const ot_compare *c);
const char *ot_compare_input_name(const ot_compare *c, int i);

/* Run both models on one batch (inputs in ot_compare_input_name order) and add to the statistics.
 * labels (NULL = none): n_labels class ids for this batch; an output whose top-1 rows number n_labels
 * (one label per row) also counts accuracy. */
octet_status ot_compare_feed(ot_compare *c, const octet_tensor *const *inputs, int n_in, const int64_t *labels,
                             int64_t n_labels);

int ot_compare_output_count(const ot_compare *c);
const char *ot_compare_output_name(const ot_compare *c, int i);
/* Statistics of output i; top-1 counts are filled for outputs of rank >= 2 with a last axis > 1. */
const ot_cmp_acc *ot_compare_output(const ot_compare *c, int i);

/* Per-layer results (per_layer only), worst (lowest SQNR) first; tensors never seen are left out.
 * Returns the count; *out stays valid until the next feed or free. */
int ot_compare_layers(ot_compare *c, const ot_layer_result **out);
/* How many quantized tensors of the test model found a float twin (per_layer only). */
int ot_compare_layer_pairs(const ot_compare *c);

#endif
