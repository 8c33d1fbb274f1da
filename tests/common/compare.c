#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double half_to_double(uint16_t h)
{
    int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp((double)man, -24);                      /* zero or subnormal */
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexp((double)(man | 0x400), exp - 25);
    return sign ? -v : v;
}

double tc_get_f64(const octet_tensor *t, int64_t i)
{
    const void *p = octet_tensor_data((octet_tensor *)t);
    switch (octet_tensor_dtype(t)) {
    case OCTET_FLOAT: return ((const float *)p)[i];
    case OCTET_DOUBLE: return ((const double *)p)[i];
    case OCTET_FLOAT16: return half_to_double(((const uint16_t *)p)[i]);
    case OCTET_INT8: return ((const int8_t *)p)[i];
    case OCTET_UINT8: return ((const uint8_t *)p)[i];
    case OCTET_INT16: return ((const int16_t *)p)[i];
    case OCTET_UINT16: return ((const uint16_t *)p)[i];
    case OCTET_INT32: return ((const int32_t *)p)[i];
    case OCTET_UINT32: return ((const uint32_t *)p)[i];
    case OCTET_INT64: return (double)((const int64_t *)p)[i];
    case OCTET_UINT64: return (double)((const uint64_t *)p)[i];
    case OCTET_BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return NAN;
    }
}

static bool is_float(octet_dtype d)
{
    return d == OCTET_FLOAT || d == OCTET_DOUBLE || d == OCTET_FLOAT16;
}

char *tc_shape_str(const octet_tensor *t, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "%s[", octet_dtype_name(octet_tensor_dtype(t)));
    for (int d = 0; d < octet_tensor_ndim(t) && used < n; d++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", d ? "," : "",
                                 (long long)octet_tensor_dim(t, d));
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

char *tc_index_str(const octet_tensor *t, int64_t i, char *buf, size_t n)
{
    int nd = octet_tensor_ndim(t);
    int64_t idx[OCTET_MAX_DIMS] = {0};
    for (int d = nd - 1; d >= 0; d--) {
        int64_t dim = octet_tensor_dim(t, d);
        idx[d] = dim > 0 ? i % dim : 0;
        i = dim > 0 ? i / dim : 0;
    }
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < nd && used < n; d++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", d ? "," : "", (long long)idx[d]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

double tc_max_abs_value(const octet_tensor *t)
{
    double m = 0;
    int64_t n = octet_tensor_count(t);
    for (int64_t i = 0; i < n; i++) {
        double v = fabs(tc_get_f64(t, i));
        if (isfinite(v) && v > m)
            m = v;
    }
    return m;
}

/* How far element i is outside the tolerance (<= 0: inside); *diff gets |a-b|. */
static double excess(const octet_tensor *got, const octet_tensor *want, int64_t i, double rtol,
                     double atol, double *diff)
{
    octet_dtype dt = octet_tensor_dtype(want);
    if (!is_float(dt)) {
        /* Integers compare bit-exactly: doubles cannot hold every int64. */
        size_t es = octet_dtype_size(dt);
        const char *a = (const char *)octet_tensor_data((octet_tensor *)got) + (size_t)i * es;
        const char *b = (const char *)octet_tensor_data((octet_tensor *)want) + (size_t)i * es;
        bool same = dt == OCTET_BOOL ? ((*a != 0) == (*b != 0)) : memcmp(a, b, es) == 0;
        *diff = same ? 0 : fabs(tc_get_f64(got, i) - tc_get_f64(want, i));
        if (!same && *diff == 0)
            *diff = 1;   /* differ beyond double precision */
        return same ? -1 : INFINITY;
    }
    double a = tc_get_f64(got, i), b = tc_get_f64(want, i);
    if (isnan(a) || isnan(b)) {
        *diff = isnan(a) && isnan(b) ? 0 : INFINITY;
        return *diff == 0 ? -1 : INFINITY;
    }
    if (isinf(a) || isinf(b)) {
        *diff = a == b ? 0 : INFINITY;
        return *diff == 0 ? -1 : INFINITY;
    }
    *diff = fabs(a - b);
    return *diff - (atol + rtol * fabs(b));
}

bool tc_compare(const octet_tensor *got, const octet_tensor *want, double rtol, double atol, tc_cmp *r)
{
    char gs[160], ws[160];
    memset(r, 0, sizeof *r);
    r->worst = -1;
    tc_shape_str(got, gs, sizeof gs);
    tc_shape_str(want, ws, sizeof ws);
    if (strcmp(gs, ws) != 0) {
        snprintf(r->reason, sizeof r->reason, "got %s, want %s", gs, ws);
        r->max_abs = INFINITY;
        return false;
    }
    octet_dtype dt = octet_tensor_dtype(want);
    if (octet_dtype_size(dt) == 0 || dt == OCTET_STRING) {
        snprintf(r->reason, sizeof r->reason, "cannot compare dtype %s", octet_dtype_name(dt));
        return false;
    }
    r->max_ref = tc_max_abs_value(want);
    int64_t n = octet_tensor_count(want);
    double worst_excess = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double d;
        double e = excess(got, want, i, rtol, atol, &d);
        if (d > r->max_abs || isnan(d))
            r->max_abs = d;
        if (e > 0)
            r->n_bad++;
        if (e > worst_excess) {
            worst_excess = e;
            r->worst = i;
        }
    }
    if (r->worst >= 0) {
        r->worst_got = tc_get_f64(got, r->worst);
        r->worst_want = tc_get_f64(want, r->worst);
    }
    r->ok = r->n_bad == 0;
    if (!r->ok) {
        char idx[128], why[160];
        tc_index_str(want, r->worst, idx, sizeof idx);
        double d = fabs(r->worst_got - r->worst_want);
        if (!is_float(dt))
            snprintf(why, sizeof why, "integers must match exactly");
        else if (!isfinite(d))
            snprintf(why, sizeof why, "NaN/inf mismatch");
        else
            snprintf(why, sizeof why, "|diff| %.3g > tol %.3g (atol %g rtol %g)", d,
                     atol + rtol * fabs(r->worst_want), atol, rtol);
        snprintf(r->reason, sizeof r->reason,
                 "%lld of %lld elements differ; worst at %s (flat %lld): got %.9g want %.9g, %s; "
                 "max abs err %.3g",
                 (long long)r->n_bad, (long long)n, idx, (long long)r->worst, r->worst_got,
                 r->worst_want, why, r->max_abs);
    }
    return r->ok;
}
