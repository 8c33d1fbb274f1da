/* libFuzzer harness: arbitrary bytes into the ONNX loader. Whatever loads must also save, and what
 * octet saves must load back to the same bytes (load -> save -> load -> save is a fixed point). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "octet.h"
#include "onnx/onnx_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "fuzz_onnx_load: %s: %s\n", what, octet_last_error());
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    octet_model *m = NULL;
    octet_status s = octet_model_load_memory(&m, data, size, NULL);
    if (s != OCTET_OK) {
        check(m == NULL && octet_last_error()[0] && !strchr(octet_last_error(), '\n'),
              "a failed load must leave no model and one line of error");
        return 0;
    }
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    s = ot_model_serialize(m, &b1, &n1);
    octet_model_free(m);
    if (s == OCTET_ERR_NOMEM) return 0;
    check(s == OCTET_OK, "a loaded model must save");
    octet_model *m2 = NULL;
    s = octet_model_load_memory(&m2, b1, n1, NULL);
    check(s == OCTET_OK, "what octet saves must load");
    s = ot_model_serialize(m2, &b2, &n2);
    check(s == OCTET_OK, "a reloaded model must save");
    check(n1 == n2 && memcmp(b1, b2, n1) == 0, "save(load(save(x))) must equal save(x)");
    octet_model_free(m2);
    free(b1);
    free(b2);
    return 0;
}
