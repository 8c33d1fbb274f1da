/* libFuzzer harness: .npy and .npz parsing from memory (the code behind octet_npy_load and
 * `octet run --input/--inputs`). Any input must give OCTET_OK or an error with a message, never a
 * crash, leak or out-of-bounds read. Inputs that parse are re-serialized and parsed again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/npy.h"
#include "io/npz.h"
#include "tensor/tensor.h"

static void check_round_trip(const octet_tensor *t) {
    void *img;
    size_t n;
    if (ot_npy_serialize(t, &img, &n) != OCTET_OK) abort();
    octet_tensor *u = NULL;
    if (ot_npy_parse(img, n, &u) != OCTET_OK) abort();
    size_t nb = ot_tensor_nbytes(t);
    if (u->dtype != t->dtype || u->ndim != t->ndim || ot_tensor_nbytes(u) != nb ||
        (nb && memcmp(u->data, t->data, nb) != 0))
        abort();
    octet_tensor_free(u);
    free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    octet_tensor *t = NULL;
    octet_status st = ot_npy_parse(data, size, &t);
    if (st == OCTET_OK) {
        check_round_trip(t);
        octet_tensor_free(t);
    } else if (t != NULL || octet_last_error()[0] == 0) {
        abort();
    }

    char **names = NULL;
    octet_tensor **ts = NULL;
    int count = 0;
    if (ot_npz_parse(data, size, &names, &ts, &count) == OCTET_OK) {
        for (int i = 0; i < count; i++) check_round_trip(ts[i]);
        /* Whatever parsed must also write and read back. */
        void *img;
        size_t n;
        if (ot_npz_serialize((const char *const *)names, (const octet_tensor *const *)ts, count, &img, &n) == OCTET_OK) {
            char **n2;
            octet_tensor **t2;
            int c2;
            if (ot_npz_parse(img, n, &n2, &t2, &c2) != OCTET_OK || c2 != count) abort();
            ot_npz_free(n2, t2, c2);
            free(img);
        }
        ot_npz_free(names, ts, count);
    } else if (names || ts || count) {
        abort();
    }
    return 0;
}
