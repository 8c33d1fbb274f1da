/* Op family 'gemm': Gemm and MatMul, float32, on the BLAS-backed ot_sgemm. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/sgemm.h"
#include "ops/op.h"

/* ---- Gemm: Y = alpha * op(A) * op(B) + beta * C ---- */

static octet_status gemm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, k->opset < 11 ? 3 : 2, 3));
    const octet_tensor *A = in[0], *B = in[1], *C = n_in > 2 ? in[2] : NULL;
    OT_TRY(ot_check_dtype(k, A, 0, OCTET_FLOAT));
    OT_TRY(ot_check_dtype(k, B, 1, OCTET_FLOAT));
    if (C) OT_TRY(ot_check_dtype(k, C, 2, OCTET_FLOAT));
    if (A->ndim != 2 || B->ndim != 2)
        return ot_node_err(k, OCTET_ERR_SHAPE, "A and B must be 2-D, got ranks %d and %d", A->ndim, B->ndim);
    bool ta = ot_node_attr_int(k->node, "transA", 0) != 0, tb = ot_node_attr_int(k->node, "transB", 0) != 0;
    float alpha = ot_node_attr_float(k->node, "alpha", 1.0f), beta = ot_node_attr_float(k->node, "beta", 1.0f);
    int64_t M = ta ? A->dims[1] : A->dims[0], K = ta ? A->dims[0] : A->dims[1];
    int64_t KB = tb ? B->dims[1] : B->dims[0], N = tb ? B->dims[0] : B->dims[1];
    if (K != KB)
        return ot_node_err(k, OCTET_ERR_SHAPE, "inner dimensions differ: op(A) is [%lld,%lld], op(B) is [%lld,%lld]",
                           (long long)M, (long long)K, (long long)KB, (long long)N);
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "matrix dimensions are too large");
    /* C must broadcast to [M, N] in one direction. */
    int64_t cm = 1, cn = 1;
    if (C) {
        if (C->ndim > 2) return ot_node_err(k, OCTET_ERR_SHAPE, "C must have rank <= 2, got %d", C->ndim);
        if (C->ndim == 1) cn = C->dims[0];
        if (C->ndim == 2) {
            cm = C->dims[0];
            cn = C->dims[1];
        }
        if ((cm != 1 && cm != M) || (cn != 1 && cn != N)) {
            char buf[96];
            return ot_node_err(k, OCTET_ERR_SHAPE, "C of shape %s does not broadcast to [%lld,%lld]",
                               ot_shape_str(buf, sizeof buf, C->ndim, C->dims), (long long)M, (long long)N);
        }
    }
    if (!out[0]) return OCTET_OK;
    int64_t dims[2] = {M, N};
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 2, dims));
    float *y = out[0]->data;
    float gbeta = 0.0f;
    if (C && beta != 0.0f && M > 0 && N > 0) {
        const float *c = C->data;
        for (int64_t i = 0; i < M; i++) {
            float *yr = y + (size_t)i * N;
            const float *cr = c + (cm == 1 ? 0 : (size_t)i * cn);
            if (cn == 1)
                for (int64_t j = 0; j < N; j++) yr[j] = cr[0];
            else
                memcpy(yr, cr, (size_t)N * sizeof *yr);
        }
        gbeta = beta;
    }
    const float *a = A->data, *b = B->data;
    if (M == 1 && K > 0 && N > 0) {
        /* one row (batch-1 FC layer): a matrix-vector product; A's row is contiguous either way */
        if (gbeta == 0.0f) memset(y, 0, (size_t)N * sizeof *y);
        ot_sgemv_mt(k->threads, !tb, (int)B->dims[0], (int)B->dims[1], alpha, b, (int)B->dims[1], a, gbeta, y);
        return OCTET_OK;
    }
    ot_sgemm_mt(k->threads, ta, tb, (int)M, (int)N, (int)K, alpha, a, (int)(A->dims[1] > 0 ? A->dims[1] : 1), b,
                (int)(B->dims[1] > 0 ? B->dims[1] : 1), gbeta, y, (int)(N > 0 ? N : 1));
    return OCTET_OK;
}

/* ---- MatMul: numpy matmul semantics ---- */

static octet_status matmul_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    const octet_tensor *A = in[0], *B = in[1];
    OT_TRY(ot_check_dtype(k, A, 0, OCTET_FLOAT));
    OT_TRY(ot_check_dtype(k, B, 1, OCTET_FLOAT));
    if (A->ndim < 1 || B->ndim < 1)
        return ot_node_err(k, OCTET_ERR_SHAPE, "MatMul operands must have rank >= 1, got %d and %d", A->ndim, B->ndim);
    /* 1-D operands: A [K] -> [1,K], B [K] -> [K,1]; the added dimension is dropped from Y. */
    int64_t M = A->ndim == 1 ? 1 : A->dims[A->ndim - 2], K = A->dims[A->ndim - 1];
    int64_t KB = B->ndim == 1 ? B->dims[0] : B->dims[B->ndim - 2], N = B->ndim == 1 ? 1 : B->dims[B->ndim - 1];
    char sa[96], sb[96];
    if (K != KB)
        return ot_node_err(k, OCTET_ERR_SHAPE, "inner dimensions differ: A is %s, B is %s",
                           ot_shape_str(sa, sizeof sa, A->ndim, A->dims), ot_shape_str(sb, sizeof sb, B->ndim, B->dims));
    int ba = A->ndim > 2 ? A->ndim - 2 : 0, bb = B->ndim > 2 ? B->ndim - 2 : 0;
    int nb = ba > bb ? ba : bb;
    int64_t bdims[OCTET_MAX_DIMS], astr[OCTET_MAX_DIMS], bstr[OCTET_MAX_DIMS];
    /* broadcast batch dims, right-aligned; strides in matrices (0 where broadcast) */
    int64_t sa_acc = 1, sb_acc = 1;
    for (int i = nb - 1; i >= 0; i--) {
        int ia = i - (nb - ba), ib = i - (nb - bb);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "batch dimensions do not broadcast: A is %s, B is %s",
                               ot_shape_str(sa, sizeof sa, A->ndim, A->dims),
                               ot_shape_str(sb, sizeof sb, B->ndim, B->dims));
        bdims[i] = da == 1 ? db : da;
        astr[i] = da == 1 ? 0 : sa_acc;
        bstr[i] = db == 1 ? 0 : sb_acc;
        sa_acc *= da;
        sb_acc *= db;
    }
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "matrix dimensions are too large");
    int64_t ydims[OCTET_MAX_DIMS];
    int yn = 0;
    for (int i = 0; i < nb; i++) ydims[yn++] = bdims[i];
    if (A->ndim > 1) ydims[yn++] = M;
    if (B->ndim > 1) ydims[yn++] = N;
    if (yn > OCTET_MAX_DIMS) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "result rank is too large");
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, yn, ydims));
    int64_t batches = 1;
    for (int i = 0; i < nb; i++) batches *= bdims[i];
    if (batches == 0 || M == 0 || N == 0) return OCTET_OK;
    const float *a = A->data, *b = B->data;
    float *y = out[0]->data;
    const int lda = (int)(K > 0 ? K : 1), ldb = (int)(N > 0 ? N : 1);
    const size_t amat = (size_t)M * K, bmat = (size_t)K * N, ymat = (size_t)M * N;
    /* B shared by every batch (2-D or broadcast): one GEMM over all rows of A. */
    bool b_shared = sb_acc == 1;
    bool a_full = true;  /* A holds every batch (no broadcasting of A) */
    for (int i = 0; i < nb; i++)
        if (astr[i] == 0 && bdims[i] != 1) a_full = false;
    if (b_shared && a_full && batches * M == 1 && K > 0) {
        memset(y, 0, (size_t)N * sizeof *y);
        ot_sgemv_mt(k->threads, true, (int)K, (int)N, 1.0f, b, ldb, a, 0.0f, y);
        return OCTET_OK;
    }
    if (b_shared && a_full && batches * M <= INT_MAX) {
        ot_sgemm_mt(k->threads, false, false, (int)(batches * M), (int)N, (int)K, 1.0f, a, lda, b, ldb, 0.0f, y, ldb);
        return OCTET_OK;
    }
    /* General case: batch by batch; small matrices spread over threads. */
    int threads = k->threads;
    bool par = threads > 1 && batches >= threads && (double)M * N * K < 4e6;
#pragma omp parallel for num_threads(threads) if (par) schedule(static)
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t rem = bi, oa = 0, ob = 0;
        for (int i = nb - 1; i >= 0; i--) {
            int64_t idx = rem % bdims[i];
            rem /= bdims[i];
            oa += idx * astr[i];
            ob += idx * bstr[i];
        }
        ot_sgemm_mt(par ? 1 : threads, false, false, (int)M, (int)N, (int)K, 1.0f, a + (size_t)oa * amat, lda,
                    b + (size_t)ob * bmat, ldb, 0.0f, y + (size_t)bi * ymat, ldb);
    }
    return OCTET_OK;
}

const ot_op_def ot_ops_gemm[] = {
    {"", "Gemm", NULL, gemm_run, NULL},
    {"", "MatMul", NULL, matmul_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
