/* obs_driver DATA.npy: calibrate the rows of a [batches, n] float32 array (one row = one batch) with every
 * observer and print what each chooses, plus the histograms the searches ran on, for
 * torch_observers.py to check against PyTorch and a NumPy TensorRT reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "octet.h"
#include "quant/calibrate.h"
#include "quant/histogram.h"
#include "quant/observers.h"
#include "quant/qparams.h"
#include "tensor/tensor.h"

static const char *names[] = {"minmax", "ema", "histogram", "percentile", "entropy", "mse"};

static void dump(const char *tag, const double *v, int n, double a, double b) {
    printf("%s %.17g %.17g %d", tag, a, b, n);
    for (int i = 0; i < n; i++) printf(" %.17g", v[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: obs_driver DATA.npy\n");
        return 2;
    }
    octet_tensor *x = NULL;
    if (octet_npy_load(&x, argv[1]) != OCTET_OK || x->dtype != OCTET_FLOAT || x->ndim != 2) {
        fprintf(stderr, "obs_driver: %s: need a 2-D float32 array (%s)\n", argv[1], octet_last_error());
        return 1;
    }
    int64_t nb = x->dims[0], n = x->dims[1];
    for (int m = OT_CALIB_MINMAX; m <= OT_CALIB_MSE; m++) {
        ot_calib *c;
        if (ot_calib_create(&c, NULL, &(ot_calib_options){.method = (ot_calib_method)m}) != OCTET_OK) return 1;
        for (int64_t b = 0; b < nb; b++) {
            octet_tensor *row = ot_tensor_new(OCTET_FLOAT, 1, &n);
            for (int64_t i = 0; i < n; i++) ((float *)row->data)[i] = ((float *)x->data)[b * n + i];
            if (ot_calib_observe(c, "x", row) != OCTET_OK) return 1;
            octet_tensor_free(row);
        }
        struct { octet_dtype qt; int sym, rr; const char *name; } cfg[] = {
            {OCTET_UINT8, 0, 0, "u8"}, {OCTET_INT8, 1, 0, "s8sym"}, {OCTET_UINT8, 0, 1, "u8rr"}, {OCTET_INT8, 0, 0, "s8"}};
        for (int k = 0; k < 4; k++) {
            float lo, hi;
            if (ot_calib_choose_range(c, "x", cfg[k].qt, cfg[k].sym, cfg[k].rr, &lo, &hi) != OCTET_OK) return 1;
            ot_qparams p = ot_calc_qparams(lo, hi, cfg[k].qt, cfg[k].sym, cfg[k].rr);
            printf("%s %s %.9g %.9g %.9g %d\n", names[m], cfg[k].name, lo, hi, p.scale, p.zero_point);
        }
        const ot_hist *h = ot_calib_hist(c, "x");
        if (m == OT_CALIB_HISTOGRAM && h) {
            /* what the L2 search of a two-sided asymmetric target and the entropy search ran on */
            int bins = ot_calib_get_options(c)->bins;
            double *v = malloc((size_t)bins * sizeof *v), amax = fmax(-(double)h->min, h->max);
            ot_density d;
            if (!v || !ot_density_init(&d, h)) return 1;
            ot_density_resample(&d, h->min, h->max, bins, v);
            dump("l2hist", v, bins, h->min, h->max);
            ot_density_resample_abs(&d, amax, bins, v);
            dump("abshist", v, bins, 0, amax);
            printf("binwidth %.17g\n", ldexp(1.0, h->k));
            ot_density_free(&d);
            free(v);
        }
        ot_calib_free(c);
    }
    octet_tensor_free(x);
    return 0;
}
