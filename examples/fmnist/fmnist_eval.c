/* Evaluate an ONNX classifier on Fashion-MNIST with octet's public API — also a small example of
 * embedding octet in a C program (only include/octet.h is used).
 *
 *   fmnist_eval MODEL.onnx IMAGES-idx3-ubyte.gz LABELS-idx1-ubyte.gz [--threads N] [--batch N] [--limit N]
 *   fmnist_eval --to-npy OUT.npy IMAGES-idx3-ubyte.gz [--limit N]      (images as float32 [N,1,28,28] / 255)
 *
 * Debian's dataset-fashion-mnist installs the files in /usr/share/datasets/fashion-mnist/. */
#include <octet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* Read a gzip'ed IDX file: returns the bytes after the header, the dims in dims[]. */
static uint8_t *read_idx(const char *path, int *ndim, int64_t dims[3], size_t *count) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fmnist_eval: cannot open %s\n", path);
        return NULL;
    }
    uint8_t hdr[4];
    if (gzread(f, hdr, 4) != 4 || hdr[0] || hdr[1] || hdr[2] != 0x08 || hdr[3] < 1 || hdr[3] > 3) {
        fprintf(stderr, "fmnist_eval: %s is not an IDX file of unsigned bytes\n", path);
        gzclose(f);
        return NULL;
    }
    *ndim = hdr[3];
    *count = 1;
    for (int i = 0; i < *ndim; i++) {
        uint8_t b[4];
        if (gzread(f, b, 4) != 4) {
            gzclose(f);
            return NULL;
        }
        dims[i] = (int64_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
        *count *= (size_t)dims[i];
    }
    uint8_t *data = malloc(*count ? *count : 1);
    if (!data || gzread(f, data, (unsigned)*count) != (int)*count) {
        fprintf(stderr, "fmnist_eval: %s is truncated\n", path);
        free(data);
        data = NULL;
    }
    gzclose(f);
    return data;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fail(const char *what) {
    fprintf(stderr, "fmnist_eval: %s: %s\n", what, octet_last_error());
    return 1;
}

int main(int argc, char **argv) {
    int threads = 1, batch = 100;
    long limit = -1;
    const char *pos[3] = {0};
    const char *to_npy = NULL;
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) limit = atol(argv[++i]);
        else if (!strcmp(argv[i], "--to-npy") && i + 1 < argc) to_npy = argv[++i];
        else if (npos < 3) pos[npos++] = argv[i];
    }
    if ((to_npy && npos != 1) || (!to_npy && npos != 3) || batch < 1) {
        fprintf(stderr, "usage: fmnist_eval MODEL.onnx IMAGES.gz LABELS.gz [--threads N] [--batch N] [--limit N]\n"
                        "       fmnist_eval --to-npy OUT.npy IMAGES.gz [--limit N]\n");
        return 2;
    }
    int nd;
    int64_t idims[3];
    size_t icount;
    uint8_t *images = read_idx(to_npy ? pos[0] : pos[1], &nd, idims, &icount);
    if (!images || nd != 3 || idims[1] != 28 || idims[2] != 28) return 1;
    int64_t n = idims[0];
    if (limit > 0 && limit < n) n = limit;

    if (to_npy) {
        int64_t dims[4] = {n, 1, 28, 28};
        octet_tensor *t;
        if (octet_tensor_create(&t, OCTET_FLOAT, 4, dims) != OCTET_OK) return fail("tensor");
        float *x = octet_tensor_data(t);
        for (int64_t i = 0; i < n * 784; i++) x[i] = images[i] / 255.0f;
        int rc = octet_npy_save(t, to_npy) == OCTET_OK ? 0 : fail(to_npy);
        octet_tensor_free(t);
        free(images);
        return rc;
    }

    int lnd;
    int64_t ldims[3];
    size_t lcount;
    uint8_t *labels = read_idx(pos[2], &lnd, ldims, &lcount);
    if (!labels || lnd != 1 || ldims[0] < n) return 1;

    octet_model *m;
    if (octet_model_load(&m, pos[0]) != OCTET_OK) return fail(pos[0]);
    octet_session *s;
    octet_session_options opts = {.threads = threads};
    if (octet_session_create(&s, m, &opts) != OCTET_OK) return fail("session");

    long correct = 0;
    double ms = 0;
    float *buf = malloc((size_t)batch * 784 * sizeof *buf);
    for (int64_t b0 = 0; b0 < n; b0 += batch) {
        int64_t nb = n - b0 < batch ? n - b0 : batch;
        for (int64_t i = 0; i < nb * 784; i++) buf[i] = images[b0 * 784 + i] / 255.0f;
        int64_t dims[4] = {nb, 1, 28, 28};
        octet_tensor *x, *y;
        if (octet_tensor_wrap(&x, OCTET_FLOAT, 4, dims, buf) != OCTET_OK) return fail("input");
        double t0 = now_ms();
        if (octet_session_run(s, NULL, &x, 1, &y, 1) != OCTET_OK) return fail("run");
        ms += now_ms() - t0;
        const float *logits = octet_tensor_data(y);
        int64_t classes = octet_tensor_dim(y, 1);
        for (int64_t i = 0; i < nb; i++) {
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (logits[i * classes + c] > logits[i * classes + best]) best = c;
            correct += best == labels[b0 + i];
        }
        octet_tensor_free(x);
        octet_tensor_free(y);
    }
    printf("accuracy %.4f (%ld / %lld)  %.3f ms per batch of %d, %d thread%s\n", (double)correct / (double)n, correct,
           (long long)n, ms / (double)((n + batch - 1) / batch), batch, threads, threads == 1 ? "" : "s");
    free(buf);
    free(images);
    free(labels);
    octet_session_free(s);
    octet_model_free(m);
    return 0;
}
