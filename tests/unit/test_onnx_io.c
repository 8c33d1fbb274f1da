/* ONNX load/save: the shared model corpus against its MANIFEST.md, load -> save -> load round trips,
 * every tensor encoding (built here with protobuf-c directly, independent of octet's writer), external
 * data and its sandbox, corrupt input (truncation, byte flips, wrong wire types, deep nesting),
 * version checks, and atomic saving. */
#define _GNU_SOURCE 1   /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir/graph.h"
#include "octet.h"
#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_io.h"
#include "tensor/tensor.h"
#include "util/atomic_file.h"

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", g_tmp, name);
    return b;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static int group_setup(void **state) {
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "%s/octet_onnx_io_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(g_tmp) ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    nftw(g_tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* The message must be set and contain want. */
static void expect_error(octet_status got, octet_status want, const char *substr) {
    const char *msg = octet_last_error();
    if (got != want || !msg[0] || (substr && !strstr(msg, substr)))
        fail_msg("expected %s containing \"%s\", got %s: \"%s\"", octet_status_name(want), substr ? substr : "",
                 octet_status_name(got), msg);
}

/* ---- structural equality of two models ---- */

static bool s_eq(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

static bool tensor_eq(const octet_tensor *a, const octet_tensor *b) {
    if (!a || !b) return a == b;
    if (a->dtype != b->dtype || a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return false;
    size_t n = ot_tensor_nbytes(a);
    return n == 0 || memcmp(a->data, b->data, n) == 0;
}

static bool graph_eq(const ot_graph *a, const ot_graph *b, char *why, size_t wn);

static bool vi_eq(const ot_value_info *a, const ot_value_info *b) {
    if (!s_eq(a->name, b->name) || !s_eq(a->doc, b->doc) || a->dtype != b->dtype || a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i].value != b->dims[i].value || !s_eq(a->dims[i].param, b->dims[i].param)) return false;
    return true;
}

static bool attr_eq(const ot_attr *a, const ot_attr *b, char *why, size_t wn) {
    if (!s_eq(a->name, b->name) || a->type != b->type || !s_eq(a->doc, b->doc)) return false;
    switch (a->type) {
    case OT_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case OT_ATTR_INT: return a->i == b->i;
    case OT_ATTR_STRING: return a->s_len == b->s_len && memcmp(a->s, b->s, a->s_len) == 0;
    case OT_ATTR_TENSOR: return tensor_eq(a->t, b->t);
    case OT_ATTR_GRAPH: return graph_eq(a->g, b->g, why, wn);
    case OT_ATTR_FLOATS: return a->n == b->n && (!a->n || memcmp(a->floats, b->floats, a->n * sizeof(float)) == 0);
    case OT_ATTR_INTS: return a->n == b->n && (!a->n || memcmp(a->ints, b->ints, a->n * sizeof(int64_t)) == 0);
    case OT_ATTR_STRINGS:
        if (a->n != b->n) return false;
        for (size_t i = 0; i < a->n; i++)
            if (!s_eq(a->strings[i], b->strings[i])) return false;
        return true;
    case OT_ATTR_TENSORS:
        if (a->n != b->n) return false;
        for (size_t i = 0; i < a->n; i++)
            if (!tensor_eq(a->tensors[i], b->tensors[i])) return false;
        return true;
    case OT_ATTR_GRAPHS:
        if (a->n != b->n) return false;
        for (size_t i = 0; i < a->n; i++)
            if (!graph_eq(a->graphs[i], b->graphs[i], why, wn)) return false;
        return true;
    default: return false;
    }
}

#define NEQ(...) (snprintf(why, wn, __VA_ARGS__), false)

static bool graph_eq(const ot_graph *a, const ot_graph *b, char *why, size_t wn) {
    if (!a || !b) return a == b ? true : NEQ("one graph is NULL");
    if (!s_eq(a->name, b->name) || !s_eq(a->doc, b->doc)) return NEQ("graph name/doc '%s' vs '%s'", a->name, b->name);
    if (a->n_nodes != b->n_nodes) return NEQ("graph '%s': %d vs %d nodes", a->name, a->n_nodes, b->n_nodes);
    for (int i = 0; i < a->n_nodes; i++) {
        const ot_node *x = a->nodes[i], *y = b->nodes[i];
        if (!s_eq(x->name, y->name) || !s_eq(x->op_type, y->op_type) || !s_eq(x->domain, y->domain) ||
            !s_eq(x->doc, y->doc) || x->n_inputs != y->n_inputs || x->n_outputs != y->n_outputs ||
            x->n_attrs != y->n_attrs)
            return NEQ("node %d ('%s') differs", i, x->name);
        for (int k = 0; k < x->n_inputs; k++)
            if (!s_eq(x->inputs[k], y->inputs[k])) return NEQ("node %d input %d differs", i, k);
        for (int k = 0; k < x->n_outputs; k++)
            if (!s_eq(x->outputs[k], y->outputs[k])) return NEQ("node %d output %d differs", i, k);
        for (int k = 0; k < x->n_attrs; k++)
            if (!attr_eq(&x->attrs[k], &y->attrs[k], why, wn))
                return NEQ("node %d ('%s') attribute '%s' differs", i, x->name, x->attrs[k].name);
    }
    if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs || a->n_value_info != b->n_value_info)
        return NEQ("graph '%s': input/output/value_info counts differ", a->name);
    for (int i = 0; i < a->n_inputs; i++)
        if (!vi_eq(&a->inputs[i], &b->inputs[i])) return NEQ("input '%s' differs", a->inputs[i].name);
    for (int i = 0; i < a->n_outputs; i++)
        if (!vi_eq(&a->outputs[i], &b->outputs[i])) return NEQ("output '%s' differs", a->outputs[i].name);
    for (int i = 0; i < a->n_value_info; i++)
        if (!vi_eq(&a->value_info[i], &b->value_info[i])) return NEQ("value_info '%s' differs", a->value_info[i].name);
    if (a->n_inits != b->n_inits) return NEQ("graph '%s': %d vs %d initializers", a->name, a->n_inits, b->n_inits);
    for (int i = 0; i < a->n_inits; i++)
        if (!s_eq(a->inits[i].name, b->inits[i].name) || !s_eq(a->inits[i].doc, b->inits[i].doc) ||
            !tensor_eq(a->inits[i].tensor, b->inits[i].tensor))
            return NEQ("initializer '%s' differs", a->inits[i].name);
    return true;
}

static void assert_models_equal(const octet_model *a, const octet_model *b) {
    char why[512] = "";
    bool ok = a->ir_version == b->ir_version && a->model_version == b->model_version &&
              s_eq(a->producer_name, b->producer_name) && s_eq(a->producer_version, b->producer_version) &&
              s_eq(a->domain, b->domain) && s_eq(a->doc, b->doc) && a->n_opsets == b->n_opsets &&
              a->n_metadata == b->n_metadata;
    if (!ok) snprintf(why, sizeof why, "model fields differ");
    for (int i = 0; ok && i < a->n_opsets; i++)
        if (!s_eq(a->opsets[i].domain, b->opsets[i].domain) || a->opsets[i].version != b->opsets[i].version)
            ok = false, snprintf(why, sizeof why, "opset %d differs", i);
    for (int i = 0; ok && i < a->n_metadata; i++)
        if (!s_eq(a->metadata[i].key, b->metadata[i].key) || !s_eq(a->metadata[i].value, b->metadata[i].value))
            ok = false, snprintf(why, sizeof why, "metadata %d differs", i);
    if (ok) ok = graph_eq(a->graph, b->graph, why, sizeof why);
    if (!ok) fail_msg("models differ: %s", why);
}

/* serialize -> load -> equal, and serialize again gives the same bytes; also via a file. */
static void check_roundtrip(const octet_model *m, const char *file_name) {
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    if (ot_model_serialize(m, &b1, &n1) != OCTET_OK) fail_msg("serialize: %s", octet_last_error());
    octet_model *m2 = NULL;
    if (octet_model_load_memory(&m2, b1, n1, NULL) != OCTET_OK) fail_msg("reload: %s", octet_last_error());
    assert_models_equal(m, m2);
    assert_int_equal(ot_model_serialize(m2, &b2, &n2), OCTET_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    if (file_name) {
        const char *p = tmp_path(file_name);
        if (octet_model_save(m, p) != OCTET_OK) fail_msg("save: %s", octet_last_error());
        size_t nf = 0;
        uint8_t *bf = read_file(p, &nf);
        assert_non_null(bf);
        assert_int_equal(nf, n1);
        assert_memory_equal(bf, b1, n1);   /* file and memory writers agree */
        octet_model *m3 = NULL;
        if (octet_model_load(&m3, p) != OCTET_OK) fail_msg("load saved file: %s", octet_last_error());
        assert_models_equal(m, m3);
        octet_model_free(m3);
        free(bf);
        unlink(p);
    }
    octet_model_free(m2);
    free(b1);
    free(b2);
}

/* ---- the shared corpus against MANIFEST.md ---- */

static bool ci_mode(void) {
    const char *ci = getenv("CI");
    return ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
}

/* ../shared/models, or NULL (after deciding whether that is allowed). */
static const char *shared_models(void) {
    static char dir[1024];
    const char *sh = getenv("OCTET_SHARED"), *src = getenv("OCTET_SRC");
    if (sh && *sh) snprintf(dir, sizeof dir, "%s/models", sh);
    else snprintf(dir, sizeof dir, "%s/../shared/models", src && *src ? src : ".");
    char mf[1100];
    snprintf(mf, sizeof mf, "%s/MANIFEST.md", dir);
    if (access(mf, R_OK) == 0) return dir;
    fprintf(stderr, "\n*** SKIPPED: ../shared not found (looked for %s) ***\n\n", mf);
    if (ci_mode()) fail_msg("CI is set and the shared model corpus is missing: %s", mf);
    return NULL;
}

#define MAXK 48
typedef struct kv_list {
    int n;
    char key[MAXK][64];
    long long val[MAXK];
} kv_list;

static void kv_add(kv_list *l, const char *key, long long v) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->key[i], key) == 0) {
            l->val[i] += v;
            return;
        }
    assert_true(l->n < MAXK);
    snprintf(l->key[l->n], 64, "%s", key);
    l->val[l->n++] = v;
}

static long long kv_get(const kv_list *l, const char *key) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->key[i], key) == 0) return l->val[i];
    return 0;
}

/* "A 1, B 2" -> list (values after the last space). */
static void parse_counts(const char *s, kv_list *l) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ') tok++;
        char *sp = strrchr(tok, ' ');
        if (!sp) continue;
        *sp = 0;
        kv_add(l, tok, atoll(sp + 1));
    }
}

typedef struct mf_model {
    char file[128];
    long long bytes, ir, nodes;
    char producer[128];
    kv_list opsets, ops, weights;
    char inputs[1024], outputs[1024];   /* "`input` FLOAT [N,3,224,224], ..." as written */
} mf_model;

static int parse_manifest(const char *dir, mf_model *out, int max) {
    char path[1100];
    snprintf(path, sizeof path, "%s/MANIFEST.md", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192];
    int n = 0;
    mf_model *cur = NULL;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "### ", 4) == 0 && strstr(line, ".onnx")) {
            assert_true(n < max);
            cur = &out[n++];
            memset(cur, 0, sizeof *cur);
            snprintf(cur->file, sizeof cur->file, "%s", line + 4);
        } else if (cur && strncmp(line, "- bytes ", 8) == 0) {
            cur->bytes = atoll(line + 8);
            const char *ir = strstr(line, ", IR ");
            cur->ir = ir ? atoll(ir + 5) : -1;
            const char *op = strstr(line, ", opsets "), *pr = strstr(line, ", producer '");
            if (op && pr) {
                char b[1024];
                snprintf(b, sizeof b, "%.*s", (int)(pr - op - 9), op + 9);
                parse_counts(b, &cur->opsets);
                snprintf(cur->producer, sizeof cur->producer, "%s", pr + 12);
                char *q = strrchr(cur->producer, '\'');
                if (q) *q = 0;
            }
        } else if (cur && strstr(line, " nodes; op types: ")) {
            cur->nodes = atoll(line + 2);
            parse_counts(strstr(line, "op types: ") + 10, &cur->ops);
        } else if (cur && strncmp(line, "- weights (elements by dtype): ", 31) == 0) {
            parse_counts(line + 31, &cur->weights);
        } else if (cur && strncmp(line, "- declared inputs: ", 19) == 0) {
            snprintf(cur->inputs, sizeof cur->inputs, "%s", line + 19);
        } else if (cur && strncmp(line, "- declared outputs: ", 20) == 0) {
            snprintf(cur->outputs, sizeof cur->outputs, "%s", line + 20);
        }
    }
    fclose(f);
    return n;
}

static const char *onnx_type_upper(octet_dtype d) {
    static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
                                  "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64"};
    return (unsigned)d < 14 ? names[d] : "?";
}

static void count_graph(const ot_graph *g, long long *nodes, kv_list *ops, kv_list *weights) {
    for (int i = 0; i < g->n_inits; i++) {
        const octet_tensor *t = g->inits[i].tensor;
        kv_add(weights, onnx_type_upper(t->dtype), ot_tensor_numel(t));
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        (*nodes)++;
        kv_add(ops, n->op_type, 1);
        for (int a = 0; a < n->n_attrs; a++) {
            const ot_attr *at = &n->attrs[a];
            if (at->type == OT_ATTR_TENSOR && strcmp(n->op_type, "Constant") == 0) {
                char k[64];
                snprintf(k, sizeof k, "Constant:%s", onnx_type_upper(at->t->dtype));
                kv_add(weights, k, ot_tensor_numel(at->t));
            }
            if (at->type == OT_ATTR_GRAPH) count_graph(at->g, nodes, ops, weights);
            for (size_t k = 0; at->type == OT_ATTR_GRAPHS && k < at->n; k++)
                count_graph(at->graphs[k], nodes, ops, weights);
        }
    }
}

/* "`input` FLOAT [N,3,224,224], `sr` INT64 []" the way the manifest writes declared values. */
static void describe_values(const ot_graph *g, bool inputs, char *buf, size_t n) {
    size_t o = 0;
    buf[0] = 0;
    int count = inputs ? g->n_inputs : g->n_outputs;
    for (int i = 0; i < count; i++) {
        const ot_value_info *v = inputs ? &g->inputs[i] : &g->outputs[i];
        if (inputs && ot_graph_find_initializer(g, v->name)) continue;
        o += (size_t)snprintf(buf + o, n - o, "%s`%s` %s [", o ? ", " : "", v->name, onnx_type_upper(v->dtype));
        for (int d = 0; d < v->ndim; d++) {
            if (v->dims[d].value >= 0) o += (size_t)snprintf(buf + o, n - o, d ? ",%lld" : "%lld", (long long)v->dims[d].value);
            else o += (size_t)snprintf(buf + o, n - o, d ? ",%s" : "%s", v->dims[d].param ? v->dims[d].param : "?");
        }
        o += (size_t)snprintf(buf + o, n - o, "]");
    }
}

static void check_against_manifest(const octet_model *m, const mf_model *e) {
    long long nodes = 0;
    kv_list ops = {0}, weights = {0};
    count_graph(m->graph, &nodes, &ops, &weights);
    if (nodes != e->nodes) fail_msg("%s: %lld nodes, manifest says %lld", e->file, nodes, e->nodes);
    assert_int_equal(ops.n, e->ops.n);
    for (int i = 0; i < e->ops.n; i++)
        if (kv_get(&ops, e->ops.key[i]) != e->ops.val[i])
            fail_msg("%s: %lld %s nodes, manifest says %lld", e->file, kv_get(&ops, e->ops.key[i]), e->ops.key[i],
                     e->ops.val[i]);
    assert_int_equal(weights.n, e->weights.n);
    for (int i = 0; i < e->weights.n; i++)
        if (kv_get(&weights, e->weights.key[i]) != e->weights.val[i])
            fail_msg("%s: %lld %s weight elements, manifest says %lld", e->file, kv_get(&weights, e->weights.key[i]),
                     e->weights.key[i], e->weights.val[i]);
    assert_int_equal(m->ir_version, e->ir);
    assert_int_equal(m->n_opsets, e->opsets.n);
    for (int i = 0; i < e->opsets.n; i++)
        if (ot_model_opset(m, e->opsets.key[i]) != e->opsets.val[i])
            fail_msg("%s: opset %s is %lld, manifest says %lld", e->file, e->opsets.key[i],
                     (long long)ot_model_opset(m, e->opsets.key[i]), e->opsets.val[i]);
    char prod[256];
    const char *pn = m->producer_name ? m->producer_name : "", *pv = m->producer_version ? m->producer_version : "";
    snprintf(prod, sizeof prod, "%s%s%s", pn, *pn && *pv ? " " : "", pv);
    if (strcmp(prod, e->producer) != 0) fail_msg("%s: producer '%s', manifest says '%s'", e->file, prod, e->producer);
    char buf[1024];
    describe_values(m->graph, true, buf, sizeof buf);
    if (strcmp(buf, e->inputs) != 0) fail_msg("%s: inputs %s, manifest says %s", e->file, buf, e->inputs);
    describe_values(m->graph, false, buf, sizeof buf);
    if (strcmp(buf, e->outputs) != 0) fail_msg("%s: outputs %s, manifest says %s", e->file, buf, e->outputs);
}

/* Every initializer stored as raw bytes must appear verbatim in the file (independent of the parser). */
static void check_bytes_in_file(const octet_model *m, const uint8_t *file, size_t n) {
    for (int i = 0; i < m->graph->n_inits; i++) {
        const octet_tensor *t = m->graph->inits[i].tensor;
        size_t nb = ot_tensor_nbytes(t);
        if (nb >= 64 && !memmem(file, n, t->data, nb))
            fail_msg("initializer '%s' (%zu bytes) is not in the file", m->graph->inits[i].name, nb);
    }
}

static void test_shared_models(void **state) {
    (void)state;
    const char *dir = shared_models();
    if (!dir) return;
    static mf_model mf[32];
    int n = parse_manifest(dir, mf, 32);
    assert_true(n >= 10);
    for (int i = 0; i < n; i++) {
        char path[1300];
        snprintf(path, sizeof path, "%s/%s", dir, mf[i].file);
        octet_model *m = NULL;
        if (octet_model_load(&m, path) != OCTET_OK) fail_msg("%s: %s", mf[i].file, octet_last_error());
        check_against_manifest(m, &mf[i]);
        size_t fn = 0;
        uint8_t *fb = read_file(path, &fn);
        assert_int_equal(fn, mf[i].bytes);
        check_bytes_in_file(m, fb, fn);
        /* memory load gives the same model */
        octet_model *mm = NULL;
        if (octet_model_load_memory(&mm, fb, fn, dir) != OCTET_OK) fail_msg("%s: %s", mf[i].file, octet_last_error());
        assert_models_equal(m, mm);
        check_roundtrip(m, "shared_roundtrip.onnx");
        printf("  %-32s %6lld nodes, IR %lld, round trip ok\n", mf[i].file, mf[i].nodes, mf[i].ir);
        octet_model_free(mm);
        octet_model_free(m);
        free(fb);
    }
}

/* Peak memory while loading resnet18 (46 MB) stays well under 2x the file. */
static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0) v = atol(line + kl);
    fclose(f);
    return v;
}

/* Runs in a fresh process (the test re-executes itself) so earlier tests' heap does not hide the
 * growth: exit 0 when loading stays under 1.5x the file, 1 when not, 3 when it cannot measure. */
static int peak_child(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 2;
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0 || write(fd, "5", 1) != 1) return 3;   /* resets VmHWM */
    close(fd);
    long before = status_kb("VmRSS:");
    octet_model *m = NULL;
    if (octet_model_load(&m, path) != OCTET_OK) return 2;
    long peak = status_kb("VmHWM:"), after = status_kb("VmRSS:");
    long file_kb = (long)(st.st_size / 1024);
    fprintf(stderr, "  resnet18 load: file %ld kB; RSS before %ld kB, after %ld kB, peak %ld kB: growth %.2fx the file\n",
            file_kb, before, after, peak, (double)(peak - before) / (double)file_kb);
    octet_model_free(m);
    return peak - before < file_kb * 3 / 2 ? 0 : 1;
}

static void test_load_peak_memory(void **state) {
    (void)state;
    const char *dir = shared_models();
    if (!dir) return;
    char path[1100];
    snprintf(path, sizeof path, "%s/resnet18.onnx", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("OCTET_ONNX_PEAK_CHILD", path, 1);
        execl("/proc/self/exe", "test_onnx_io", (char *)NULL);
        _exit(4);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3 || WEXITSTATUS(status) == 4) {
        printf("  (peak memory not measured: no /proc/self/clear_refs or re-exec failed)\n");
        return;
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- models built with protobuf-c directly (independent of octet's writer) ---- */

typedef struct pbm {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto op[2];
    Onnx__OperatorSetIdProto *ops[2];
    Onnx__TensorProto *inits[4];
    Onnx__NodeProto node;
    Onnx__NodeProto *nodes[1];
    char *node_in[1], *node_out[1];
} pbm;

/* ir 8, opset 13, graph "g" with the given initializers and, if with_node, Identity(first) -> y. */
static void pbm_init(pbm *p, Onnx__TensorProto **inits, int n_inits, bool with_node) {
    memset(p, 0, sizeof *p);
    onnx__model_proto__init(&p->m);
    onnx__graph_proto__init(&p->g);
    onnx__operator_set_id_proto__init(&p->op[0]);
    p->op[0].domain = "";
    p->op[0].has_version = 1;
    p->op[0].version = 13;
    p->ops[0] = &p->op[0];
    p->m.has_ir_version = 1;
    p->m.ir_version = 8;
    p->m.n_opset_import = 1;
    p->m.opset_import = p->ops;
    p->m.graph = &p->g;
    p->g.name = "g";
    for (int i = 0; i < n_inits; i++) p->inits[i] = inits[i];
    p->g.n_initializer = (size_t)n_inits;
    p->g.initializer = p->inits;
    if (with_node) {
        onnx__node_proto__init(&p->node);
        p->node.op_type = "Identity";
        p->node.name = "id";
        p->node_in[0] = n_inits ? inits[0]->name : "x";
        p->node_out[0] = "y";
        p->node.n_input = p->node.n_output = 1;
        p->node.input = p->node_in;
        p->node.output = p->node_out;
        p->nodes[0] = &p->node;
        p->g.n_node = 1;
        p->g.node = p->nodes;
    }
}

static uint8_t *pbm_pack(const pbm *p, size_t *n) {
    *n = onnx__model_proto__get_packed_size(&p->m);
    uint8_t *b = malloc(*n ? *n : 1);
    onnx__model_proto__pack(&p->m, b);
    return b;
}

static octet_status pbm_load(const pbm *p, octet_model **m) {
    size_t n;
    uint8_t *b = pbm_pack(p, &n);
    octet_status s = octet_model_load_memory(m, b, n, g_tmp);
    free(b);
    return s;
}

/* Load a model whose only initializer is tp. */
static octet_status load_tensor(Onnx__TensorProto *tp, octet_model **m) {
    pbm p;
    pbm_init(&p, &tp, 1, false);
    return pbm_load(&p, m);
}

static void tp_init(Onnx__TensorProto *tp, const char *name, int dtype, int ndim, int64_t *dims) {
    onnx__tensor_proto__init(tp);
    tp->name = (char *)name;
    tp->has_data_type = 1;
    tp->data_type = dtype;
    tp->n_dims = (size_t)ndim;
    tp->dims = dims;
}

static const octet_tensor *only_init(const octet_model *m) {
    assert_int_equal(m->graph->n_inits, 1);
    return m->graph->inits[0].tensor;
}

static void test_typed_fields(void **state) {
    (void)state;
    octet_model *m;
    Onnx__TensorProto tp;
    int64_t d3[1] = {3}, d2[1] = {2}, d23[2] = {2, 3};

    float f[3] = {1.5f, -2.0f, 3e-8f};
    tp_init(&tp, "f", OCTET_FLOAT, 1, d3);
    tp.n_float_data = 3;
    tp.float_data = f;
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_memory_equal(only_init(m)->data, f, sizeof f);
    octet_model_free(m);

    double dd[2] = {1e300, -0.25};
    tp_init(&tp, "d", OCTET_DOUBLE, 1, d2);
    tp.n_double_data = 2;
    tp.double_data = dd;
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_memory_equal(only_init(m)->data, dd, sizeof dd);
    octet_model_free(m);

    int64_t i64[6] = {-5, (int64_t)1 << 40, 0, 7, INT64_MIN, INT64_MAX};
    tp_init(&tp, "i64", OCTET_INT64, 2, d23);
    tp.n_int64_data = 6;
    tp.int64_data = i64;
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_int_equal(only_init(m)->ndim, 2);
    assert_int_equal(only_init(m)->dims[1], 3);
    assert_memory_equal(only_init(m)->data, i64, sizeof i64);
    octet_model_free(m);

    /* int32_data carries int32, int16, int8, uint16, uint8, bool and float16 bits */
    struct { int dtype; int32_t v[3]; uint8_t want[12]; size_t es; } cases[] = {
        {OCTET_INT32, {-7, 2147483647, 0}, {0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0}, 4},
        {OCTET_INT8, {-128, 127, 1}, {0x80, 0x7f, 0x01}, 1},
        {OCTET_UINT8, {0, 255, 17}, {0, 0xff, 17}, 1},
        {OCTET_INT16, {-32768, 32767, -2}, {0x00, 0x80, 0xff, 0x7f, 0xfe, 0xff}, 2},
        {OCTET_UINT16, {65535, 0, 258}, {0xff, 0xff, 0, 0, 0x02, 0x01}, 2},
        {OCTET_BOOL, {1, 0, 1}, {1, 0, 1}, 1},
        {OCTET_FLOAT16, {0x3c00, 0xc000, 0x7bff}, {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b}, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tp_init(&tp, "i32", cases[c].dtype, 1, d3);
        tp.n_int32_data = 3;
        tp.int32_data = cases[c].v;
        if (load_tensor(&tp, &m) != OCTET_OK) fail_msg("dtype %d: %s", cases[c].dtype, octet_last_error());
        assert_int_equal(only_init(m)->dtype, cases[c].dtype);
        assert_memory_equal(only_init(m)->data, cases[c].want, 3 * cases[c].es);
        octet_model_free(m);
    }

    uint64_t u64[2] = {UINT64_MAX, 3};
    tp_init(&tp, "u64", OCTET_UINT64, 1, d2);
    tp.n_uint64_data = 2;
    tp.uint64_data = u64;
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_memory_equal(only_init(m)->data, u64, sizeof u64);
    octet_model_free(m);

    uint64_t u32src[2] = {4294967295u, 9};
    uint32_t u32[2] = {4294967295u, 9};
    tp_init(&tp, "u32", OCTET_UINT32, 1, d2);
    tp.n_uint64_data = 2;
    tp.uint64_data = u32src;
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_memory_equal(only_init(m)->data, u32, sizeof u32);
    octet_model_free(m);

    /* big enough to take over the unpacked buffer (>= 64 bytes): values must still be right, aligned */
    float big[100];
    for (int i = 0; i < 100; i++) big[i] = (float)i * 0.5f - 7.0f;
    int64_t d100[1] = {100};
    tp_init(&tp, "big", OCTET_FLOAT, 1, d100);
    tp.n_float_data = 100;
    tp.float_data = big;
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_memory_equal(only_init(m)->data, big, sizeof big);
    assert_int_equal((uintptr_t)only_init(m)->data % 64, 0);
    octet_model_free(m);

    /* raw_data, small (copied) and big (taken over) */
    tp_init(&tp, "raw", OCTET_FLOAT, 1, d100);
    tp.has_raw_data = 1;
    tp.raw_data.len = sizeof big;
    tp.raw_data.data = (uint8_t *)big;
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_memory_equal(only_init(m)->data, big, sizeof big);
    assert_int_equal((uintptr_t)only_init(m)->data % 64, 0);
    check_roundtrip(m, NULL);
    octet_model_free(m);
    tp_init(&tp, "raw_small", OCTET_UINT8, 1, d3);
    tp.has_raw_data = 1;
    tp.raw_data.len = 3;
    tp.raw_data.data = (uint8_t *)"\x01\x02\xff";
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_memory_equal(only_init(m)->data, "\x01\x02\xff", 3);
    octet_model_free(m);

    /* scalars and empty tensors */
    float one = 4.25f;
    tp_init(&tp, "scalar", OCTET_FLOAT, 0, NULL);
    tp.n_float_data = 1;
    tp.float_data = &one;
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_int_equal(only_init(m)->ndim, 0);
    assert_true(*(float *)only_init(m)->data == 4.25f);
    check_roundtrip(m, NULL);
    octet_model_free(m);
    int64_t d0[2] = {3, 0};
    tp_init(&tp, "empty", OCTET_INT64, 2, d0);
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_int_equal(ot_tensor_numel(only_init(m)), 0);
    check_roundtrip(m, NULL);
    octet_model_free(m);
}

static void test_tensor_errors(void **state) {
    (void)state;
    octet_model *m = NULL;
    Onnx__TensorProto tp;
    uint8_t raw[100] = {0};

    int64_t conv[4] = {64, 3, 7, 7};
    tp_init(&tp, "conv1.weight", OCTET_FLOAT, 4, conv);
    tp.has_raw_data = 1;
    tp.raw_data.len = 100;
    tp.raw_data.data = raw;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE,
                 "initializer 'conv1.weight': raw_data has 100 bytes, float32[64,3,7,7] needs 37632");
    assert_null(m);

    float f[2] = {1, 2};
    int64_t d3[1] = {3};
    tp_init(&tp, "w", OCTET_FLOAT, 1, d3);
    tp.n_float_data = 2;
    tp.float_data = f;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "initializer 'w': float_data holds 2 values, float32[3] needs 3");

    tp_init(&tp, "nodata", OCTET_INT64, 1, d3);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "initializer 'nodata': has no data");

    int32_t bad8[3] = {1, 200, 3};
    tp_init(&tp, "q", OCTET_INT8, 1, d3);
    tp.n_int32_data = 3;
    tp.int32_data = bad8;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "int32_data[1] = 200 is out of range for int8");

    int64_t neg[2] = {2, -1};
    tp_init(&tp, "neg", OCTET_FLOAT, 2, neg);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "initializer 'neg': dimension 1 is negative");

    int64_t r9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    tp_init(&tp, "r9", OCTET_FLOAT, 9, r9);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_UNSUPPORTED, "initializer 'r9': rank 9");

    int64_t huge[3] = {(int64_t)1 << 30, (int64_t)1 << 30, 1 << 20};
    tp_init(&tp, "huge", OCTET_FLOAT, 3, huge);
    tp.has_raw_data = 1;
    tp.raw_data.len = 4;
    tp.raw_data.data = raw;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "initializer 'huge': shape float32[1073741824,1073741824,1048576] is too large");
    int64_t big2[2] = {(int64_t)1 << 20, (int64_t)1 << 18};   /* 1 TB of float32 */
    tp_init(&tp, "big2", OCTET_FLOAT, 2, big2);
    tp.has_raw_data = 1;
    tp.raw_data.len = 4;
    tp.raw_data.data = raw;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "raw_data has 4 bytes, float32[1048576,262144] needs 1099511627776");

    ProtobufCBinaryData strs[1] = {{1, (uint8_t *)"a"}};
    int64_t d1[1] = {1};
    tp_init(&tp, "s", OCTET_STRING, 1, d1);
    tp.n_string_data = 1;
    tp.string_data = strs;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_UNSUPPORTED, "initializer 's': string tensors are not supported");

    tp_init(&tp, "bf", 16, 1, d1);
    tp.has_raw_data = 1;
    tp.raw_data.len = 2;
    tp.raw_data.data = raw;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_UNSUPPORTED, "data type bfloat16 (16) is not supported");

    tp_init(&tp, "notype", 0, 1, d1);
    tp.has_data_type = 0;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "initializer 'notype': data_type is missing");

    tp_init(&tp, "", OCTET_FLOAT, 1, d1);
    tp.n_float_data = 1;
    tp.float_data = f;
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "initializer #0 has no name");

    /* the same name twice */
    Onnx__TensorProto a, b;
    tp_init(&a, "dup", OCTET_FLOAT, 1, d1);
    a.n_float_data = 1;
    a.float_data = f;
    b = a;
    Onnx__TensorProto *two[2] = {&a, &b};
    pbm p;
    pbm_init(&p, two, 2, false);
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "initializer 'dup' appears twice");
}

static void test_sparse_and_functions(void **state) {
    (void)state;
    float vals[3] = {1, 2, 3};
    int64_t lin[3] = {0, 5, 11}, coords[6] = {0, 0, 1, 1, 2, 3};
    int64_t d3[1] = {3}, d32[2] = {3, 2}, dense[2] = {3, 4};
    Onnx__TensorProto v, ix;
    tp_init(&v, "sp", OCTET_FLOAT, 1, d3);
    v.n_float_data = 3;
    v.float_data = vals;
    tp_init(&ix, "", OCTET_INT64, 1, d3);
    ix.n_int64_data = 3;
    ix.int64_data = lin;
    Onnx__SparseTensorProto sp;
    onnx__sparse_tensor_proto__init(&sp);
    sp.values = &v;
    sp.indices = &ix;
    sp.n_dims = 2;
    sp.dims = dense;
    Onnx__SparseTensorProto *sps[1] = {&sp};
    pbm p;
    pbm_init(&p, NULL, 0, false);
    p.g.n_sparse_initializer = 1;
    p.g.sparse_initializer = sps;
    octet_model *m = NULL;
    if (pbm_load(&p, &m) != OCTET_OK) fail_msg("%s", octet_last_error());
    float want[12] = {1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3};
    assert_string_equal(m->graph->inits[0].name, "sp");
    assert_memory_equal(m->graph->inits[0].tensor->data, want, sizeof want);
    octet_model_free(m);
    /* [NNZ, rank] coordinates */
    tp_init(&ix, "", OCTET_INT64, 2, d32);
    ix.n_int64_data = 6;
    ix.int64_data = coords;
    assert_int_equal(pbm_load(&p, &m), OCTET_OK);
    float want2[12] = {1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3};
    assert_memory_equal(m->graph->inits[0].tensor->data, want2, sizeof want2);
    octet_model_free(m);
    coords[5] = 4;   /* out of range */
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "sparse initializer 'sp': sparse index 2 is out of range");
    /* a few bytes must not make us allocate gigabytes */
    int64_t giant[2] = {1 << 15, 1 << 15};   /* 4 GB dense */
    sp.dims = giant;
    coords[5] = 3;
    expect_error(pbm_load(&p, &m), OCTET_ERR_UNSUPPORTED, "octet densifies at most");

    pbm_init(&p, NULL, 0, false);
    Onnx__FunctionProto fn;
    onnx__function_proto__init(&fn);
    fn.name = "MyFn";
    fn.domain = "local";
    Onnx__FunctionProto *fns[1] = {&fn};
    p.m.n_functions = 1;
    p.m.functions = fns;
    expect_error(pbm_load(&p, &m), OCTET_ERR_UNSUPPORTED, "local function(s) ('MyFn')");
}

static void test_versions(void **state) {
    (void)state;
    pbm p;
    octet_model *m = NULL;
    float f = 1;
    int64_t d1[1] = {1};
    Onnx__TensorProto tp;
    tp_init(&tp, "x0", OCTET_FLOAT, 1, d1);
    tp.n_float_data = 1;
    tp.float_data = &f;
    Onnx__TensorProto *tps[1] = {&tp};

    pbm_init(&p, tps, 1, true);
    assert_int_equal(pbm_load(&p, &m), OCTET_OK);
    assert_string_equal(m->graph->nodes[0]->op_type, "Identity");
    octet_model_free(m);

    p.m.ir_version = 2;
    expect_error(pbm_load(&p, &m), OCTET_ERR_UNSUPPORTED, "IR version 2 is not supported");
    p.m.has_ir_version = 0;
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "IR version 0");
    p.m.has_ir_version = 1;
    p.m.ir_version = 10;
    p.op[0].version = 6;
    expect_error(pbm_load(&p, &m), OCTET_ERR_UNSUPPORTED, "ai.onnx opset 6 is not supported");
    p.op[0].version = 22;
    expect_error(pbm_load(&p, &m), OCTET_ERR_UNSUPPORTED, "ai.onnx opset 22 is not supported");
    p.op[0].version = 21;
    assert_int_equal(pbm_load(&p, &m), OCTET_OK);
    octet_model_free(m);

    /* a node in a domain the model does not import */
    p.node.domain = "com.microsoft";
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "Identity node 'id' uses domain 'com.microsoft'");
    onnx__operator_set_id_proto__init(&p.op[1]);
    p.op[1].domain = "com.microsoft";
    p.op[1].has_version = 1;
    p.op[1].version = 1;
    p.ops[1] = &p.op[1];
    p.m.n_opset_import = 2;
    assert_int_equal(pbm_load(&p, &m), OCTET_OK);
    assert_int_equal(ot_model_opset(m, "com.microsoft"), 1);
    octet_model_free(m);
    /* no ai.onnx import at all */
    p.node.domain = NULL;
    p.m.n_opset_import = 1;
    p.ops[0] = &p.op[1];
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "uses domain 'ai.onnx', which the model does not import");
    /* one domain imported twice with different versions */
    p.ops[0] = &p.op[0];
    p.ops[1] = &p.op[0];
    p.op[1] = p.op[0];
    p.op[1].version = 11;
    p.ops[1] = &p.op[1];
    p.m.n_opset_import = 2;
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "imported twice");

    /* names from the file are shown on one printable line */
    p.m.n_opset_import = 1;
    p.op[0].domain = "bad\ndomain";
    p.op[0].version = 0;
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "opset import for domain 'bad?domain' has version 0");
    /* no graph */
    pbm_init(&p, NULL, 0, false);
    p.m.graph = NULL;
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "the model has no graph");
}

/* ---- a model with every IR feature, built through the IR API ---- */

static octet_tensor *tensor_of(octet_dtype dt, int ndim, const int64_t *dims, uint32_t seed) {
    octet_tensor *t = ot_tensor_new(dt, ndim, dims);
    assert_non_null(t);
    uint8_t *p = t->data;
    for (size_t i = 0; i < ot_tensor_nbytes(t); i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
    if (dt == OCTET_BOOL)
        for (size_t i = 0; i < ot_tensor_nbytes(t); i++) p[i] &= 1;
    return t;
}

static ot_graph *branch(const char *name, const char *op) {
    ot_graph *g = ot_graph_new(name);
    ot_node *n = ot_graph_add_node(g, op, "", "inner");
    const char *in = "x", *out = "b_out";
    ot_node_set_inputs(n, 1, &in);
    ot_node_set_outputs(n, 1, &out);
    ot_graph_add_output(g, "b_out", OCTET_FLOAT, -1, NULL);
    int64_t d[1] = {2};
    ot_graph_add_initializer(g, "branch_w", tensor_of(OCTET_FLOAT, 1, d, 5));
    return g;
}

static octet_model *rich_model(void) {
    octet_model *m = ot_model_new();
    assert_non_null(m);
    ot_model_set_opset(m, "", 17);
    ot_model_set_opset(m, "com.microsoft", 1);
    ot_model_set_opset(m, "ai.onnx.ml", 3);
    m->producer_name = strdup("octet-test");
    m->producer_version = strdup("0.1");
    m->domain = strdup("org.example");
    m->doc = strdup("a model with everything");
    m->model_version = 42;
    m->metadata = calloc(2, sizeof *m->metadata);
    m->metadata[0].key = strdup("author");
    m->metadata[0].value = strdup("tests");
    m->metadata[1].key = strdup("empty");
    m->metadata[1].value = strdup("");
    m->n_metadata = 2;
    ot_graph *g = m->graph;
    free(g->name);
    g->name = strdup("rich");
    g->doc = strdup("graph doc");
    int64_t xd[3] = {-1, 3, 5};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 3, xd);
    g->inputs[0].dims[0].param = strdup("batch");
    g->inputs[0].doc = strdup("input doc");
    ot_graph_add_input(g, "unknown_rank", OCTET_INT64, -1, NULL);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, (int64_t[]){-1, -1});
    ot_graph_add_output(g, "scalar_out", OCTET_BOOL, 0, NULL);
    ot_graph_add_output(g, "untyped", OCTET_UNDEFINED, -1, NULL);
    g->value_info = calloc(1, sizeof *g->value_info);
    g->cap_value_info = g->n_value_info = 1;
    g->value_info[0].name = strdup("mid");
    g->value_info[0].dtype = OCTET_FLOAT16;
    g->value_info[0].ndim = 1;
    g->value_info[0].dims[0].value = 7;
    /* every dtype, odd shapes, a scalar and an empty tensor */
    octet_dtype dts[] = {OCTET_FLOAT, OCTET_UINT8, OCTET_INT8, OCTET_UINT16, OCTET_INT16, OCTET_INT32,
                         OCTET_INT64, OCTET_BOOL, OCTET_FLOAT16, OCTET_DOUBLE, OCTET_UINT32, OCTET_UINT64};
    for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "w_%s", octet_dtype_name(dts[i]));
        int64_t d[3] = {(int64_t)i + 1, 3, 7};
        assert_int_equal(ot_graph_add_initializer(g, name, tensor_of(dts[i], 3, d, (uint32_t)i)), OCTET_OK);
    }
    ot_graph_add_initializer(g, "w_scalar", tensor_of(OCTET_INT64, 0, NULL, 9));
    ot_graph_add_initializer(g, "w_empty", tensor_of(OCTET_FLOAT, 2, (int64_t[]){0, 5}, 1));
    int64_t bd[2] = {33, 65};
    ot_graph_add_initializer(g, "w_big", tensor_of(OCTET_FLOAT, 2, bd, 77));   /* > 4096 bytes: streamed path */
    g->inits[0].doc = strdup("init doc");

    ot_node *n = ot_graph_add_node(g, "Custom", "com.microsoft", "all_attrs");
    const char *ins[3] = {"x", "", "w_float32"};
    const char *outs[2] = {"mid", ""};
    ot_node_set_inputs(n, 3, ins);
    ot_node_set_outputs(n, 2, outs);
    n->doc = strdup("node doc");
    ot_node_add_attr_float(n, "f", -0.125f);
    ot_node_add_attr_int(n, "i", -1234567890123LL);
    ot_node_add_attr_string(n, "s", "hello");
    ot_node_add_attr_ints(n, "ints", (int64_t[]){1, -2, 3}, 3);
    ot_node_add_attr_ints(n, "no_ints", NULL, 0);
    ot_node_add_attr_floats(n, "floats", (float[]){0.5f, 1e-30f}, 2);
    ot_node_add_attr_tensor(n, "t", tensor_of(OCTET_INT8, 2, (int64_t[]){3, 3}, 3));
    n->attrs[0].doc = strdup("attr doc");
    /* STRINGS, TENSORS, GRAPHS by hand */
    ot_attr *a;
    n->attrs = realloc(n->attrs, (size_t)(n->n_attrs + 3) * sizeof *n->attrs);
    a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = strdup("strings");
    a->type = OT_ATTR_STRINGS;
    a->n = 2;
    a->strings = calloc(2, sizeof *a->strings);
    a->strings[0] = strdup("a");
    a->strings[1] = strdup("");
    a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = strdup("tensors");
    a->type = OT_ATTR_TENSORS;
    a->n = 2;
    a->tensors = calloc(2, sizeof *a->tensors);
    a->tensors[0] = tensor_of(OCTET_DOUBLE, 1, (int64_t[]){2}, 4);
    a->tensors[1] = tensor_of(OCTET_UINT16, 0, NULL, 5);
    a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = strdup("graphs");
    a->type = OT_ATTR_GRAPHS;
    a->n = 1;
    a->graphs = calloc(1, sizeof *a->graphs);
    a->graphs[0] = branch("scan_body", "Neg");

    /* If with nested subgraphs (a subgraph inside a subgraph) */
    ot_node *iff = ot_graph_add_node(g, "If", "", "");
    const char *cond = "cond", *yy = "y";
    ot_node_set_inputs(iff, 1, &cond);
    ot_node_set_outputs(iff, 1, &yy);
    ot_graph *then = branch("then", "Relu");
    ot_node *inner_if = ot_graph_add_node(then, "If", "", "inner_if");
    ot_node_set_inputs(inner_if, 1, &cond);
    const char *z = "z";
    ot_node_set_outputs(inner_if, 1, &z);
    iff->attrs = calloc(2, sizeof *iff->attrs);
    iff->n_attrs = 2;
    iff->attrs[0].name = strdup("then_branch");
    iff->attrs[0].type = OT_ATTR_GRAPH;
    iff->attrs[0].g = then;
    iff->attrs[1].name = strdup("else_branch");
    iff->attrs[1].type = OT_ATTR_GRAPH;
    iff->attrs[1].g = branch("else", "Sigmoid");
    inner_if->attrs = calloc(2, sizeof *inner_if->attrs);
    inner_if->n_attrs = 2;
    inner_if->attrs[0].name = strdup("then_branch");
    inner_if->attrs[0].type = OT_ATTR_GRAPH;
    inner_if->attrs[0].g = branch("t2", "Abs");
    inner_if->attrs[1].name = strdup("else_branch");
    inner_if->attrs[1].type = OT_ATTR_GRAPH;
    inner_if->attrs[1].g = branch("e2", "Neg");
    return m;
}

static void test_rich_roundtrip(void **state) {
    (void)state;
    octet_model *m = rich_model();
    check_roundtrip(m, "rich.onnx");
    /* and the same after a clone (the clone is what passes hand to save) */
    octet_model *c = ot_model_clone(m);
    check_roundtrip(c, NULL);
    octet_model_free(c);
    octet_model_free(m);
}

/* ---- external data ---- */

static void ext_entries(Onnx__TensorProto *tp, Onnx__StringStringEntryProto *kv, Onnx__StringStringEntryProto **kvp,
                        const char *loc, const char *off, const char *len) {
    const char *k[3] = {"location", "offset", "length"}, *v[3] = {loc, off, len};
    int n = 0;
    for (int i = 0; i < 3; i++) {
        if (!v[i]) continue;
        onnx__string_string_entry_proto__init(&kv[n]);
        kv[n].key = (char *)k[i];
        kv[n].value = (char *)v[i];
        kvp[n] = &kv[n];
        n++;
    }
    tp->n_external_data = (size_t)n;
    tp->external_data = kvp;
    tp->has_data_location = 1;
    tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

static void test_external_data(void **state) {
    (void)state;
    float w[300];
    for (int i = 0; i < 300; i++) w[i] = (float)i / 3.0f;
    uint8_t side[64 + sizeof w];
    memset(side, 0xab, 64);
    memcpy(side + 64, w, sizeof w);
    write_file(tmp_path("weights.bin"), side, sizeof side);
    mkdir(tmp_path("sub"), 0755);
    write_file(tmp_path("sub/w2.bin"), w, sizeof w);

    int64_t d[2] = {3, 100};
    Onnx__TensorProto tp;
    Onnx__StringStringEntryProto kv[3], *kvp[3];
    tp_init(&tp, "ext_w", OCTET_FLOAT, 2, d);
    ext_entries(&tp, kv, kvp, "weights.bin", "64", "1200");
    octet_model *m = NULL;
    if (load_tensor(&tp, &m) != OCTET_OK) fail_msg("%s", octet_last_error());
    assert_memory_equal(only_init(m)->data, w, sizeof w);
    octet_model_free(m);
    /* a sub-folder is fine; offset and length may be left out */
    ext_entries(&tp, kv, kvp, "sub/w2.bin", NULL, NULL);
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    assert_memory_equal(only_init(m)->data, w, sizeof w);
    octet_model_free(m);

    /* a model file next to its data, loaded by path, then saved inline and reloaded */
    ext_entries(&tp, kv, kvp, "weights.bin", "64", NULL);
    pbm p;
    Onnx__TensorProto *tps[1] = {&tp};
    pbm_init(&p, tps, 1, true);
    size_t n;
    uint8_t *b = pbm_pack(&p, &n);
    write_file(tmp_path("ext_model.onnx"), b, n);
    assert_int_equal(octet_model_load(&m, tmp_path("ext_model.onnx")), OCTET_OK);
    assert_memory_equal(only_init(m)->data, w, sizeof w);
    check_roundtrip(m, "ext_inline.onnx");
    octet_model_free(m);
    /* from memory without a folder: refused */
    expect_error(octet_model_load_memory(&m, b, n, NULL), OCTET_ERR_INVALID_ARG,
                 "initializer 'ext_w': data is in external file 'weights.bin'");
    free(b);

    /* wrong sizes */
    ext_entries(&tp, kv, kvp, "weights.bin", "64", "1196");
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "external data length is 1196 bytes, its shape needs 1200");
    ext_entries(&tp, kv, kvp, "weights.bin", "65", NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "external data needs bytes 65..1265 of 'weights.bin', which has 1264 bytes");
    ext_entries(&tp, kv, kvp, "weights.bin", "99999999999999999999", NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "offset '99999999999999999999' is not a number");
    ext_entries(&tp, kv, kvp, "weights.bin", "-1", NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "offset '-1' is not a number");
    ext_entries(&tp, kv, kvp, "missing.bin", NULL, NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_IO, "cannot open external data file 'missing.bin'");
    ext_entries(&tp, kv, kvp, "sub", NULL, NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "is not a regular file");

    /* escaping the folder: ../, absolute paths, symlinks out */
    char outside[600];
    snprintf(outside, sizeof outside, "%s_outside.bin", g_tmp);
    write_file(outside, w, sizeof w);
    char rel[700];
    const char *base = strrchr(g_tmp, '/') + 1;
    snprintf(rel, sizeof rel, "../%s_outside.bin", base);
    ext_entries(&tp, kv, kvp, rel, NULL, NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "contains '..'");
    ext_entries(&tp, kv, kvp, "sub/../../x.bin", NULL, NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "contains '..'");
    ext_entries(&tp, kv, kvp, "/etc/passwd", NULL, NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "'/etc/passwd' is an absolute path");
    ext_entries(&tp, kv, kvp, "", NULL, NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "external data has no location");
    assert_int_equal(symlink(outside, tmp_path("link_out.bin")), 0);
    ext_entries(&tp, kv, kvp, "link_out.bin", NULL, NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "outside the model's folder");
    assert_int_equal(symlink("/etc", tmp_path("etc_link")), 0);
    ext_entries(&tp, kv, kvp, "etc_link/passwd", NULL, NULL);
    expect_error(load_tensor(&tp, &m), OCTET_ERR_PARSE, "outside the model's folder");
    /* a symlink that stays inside is fine */
    assert_int_equal(symlink("weights.bin", tmp_path("link_in.bin")), 0);
    ext_entries(&tp, kv, kvp, "link_in.bin", "64", NULL);
    assert_int_equal(load_tensor(&tp, &m), OCTET_OK);
    octet_model_free(m);
    unlink(outside);
}

static void test_save_external(void **state) {
    (void)state;
    octet_model *m = rich_model();
    ot_save_options o = {.external_min_bytes = 1024, .external_name = NULL};
    const char *path = tmp_path("with_ext.onnx");
    if (ot_model_save_opts(m, path, &o) != OCTET_OK) fail_msg("%s", octet_last_error());
    struct stat st_side, st_model;
    assert_int_equal(stat(tmp_path("with_ext.onnx.data"), &st_side), 0);
    assert_int_equal(stat(path, &st_model), 0);
    assert_true(st_side.st_size >= 33 * 65 * 4);   /* w_big went to the side file */
    uint8_t *inline_bytes;
    size_t inline_n;
    assert_int_equal(ot_model_serialize(m, &inline_bytes, &inline_n), OCTET_OK);
    assert_true((size_t)st_model.st_size < inline_n - 33 * 65 * 4 + 200);
    free(inline_bytes);
    octet_model *back = NULL;
    if (octet_model_load(&back, path) != OCTET_OK) fail_msg("%s", octet_last_error());
    assert_models_equal(m, back);
    octet_model_free(back);
    /* a chosen name; names with folders are refused */
    o.external_name = "weights.data";
    assert_int_equal(ot_model_save_opts(m, tmp_path("named.onnx"), &o), OCTET_OK);
    assert_int_equal(access(tmp_path("weights.data"), R_OK), 0);
    assert_int_equal(octet_model_load(&back, tmp_path("named.onnx")), OCTET_OK);
    assert_models_equal(m, back);
    octet_model_free(back);
    o.external_name = "../escape.data";
    expect_error(ot_model_save_opts(m, tmp_path("bad.onnx"), &o), OCTET_ERR_INVALID_ARG, "must be a plain file name");
    assert_int_not_equal(access(tmp_path("bad.onnx"), F_OK), 0);
    octet_model_free(m);
}

/* ---- corrupt input ---- */

static void load_any(const uint8_t *b, size_t n) {
    octet_model *m = NULL;
    octet_status s = octet_model_load_memory(&m, b, n, NULL);
    if (s != OCTET_OK) {
        assert_null(m);
        if (!octet_last_error()[0]) fail_msg("error %s without a message", octet_status_name(s));
        assert_null(strchr(octet_last_error(), '\n'));
        return;
    }
    uint8_t *out;
    size_t on;
    if (ot_model_serialize(m, &out, &on) != OCTET_OK) fail_msg("a loaded model must save: %s", octet_last_error());
    free(out);
    octet_model_free(m);
}

static void test_corrupt(void **state) {
    (void)state;
    octet_model *m = rich_model();
    uint8_t *b;
    size_t n;
    assert_int_equal(ot_model_serialize(m, &b, &n), OCTET_OK);
    octet_model_free(m);
    /* every truncation */
    for (size_t k = 0; k < n; k++) load_any(b, k);
    expect_error(octet_model_load_memory(&m, b, 0, NULL), OCTET_ERR_PARSE, "empty");
    expect_error(octet_model_load_memory(&m, b, n - 1, NULL), OCTET_ERR_PARSE, "not a valid ONNX file");
    /* byte flips: one to four random bytes set to random values, many times */
    uint8_t *c = malloc(n);
    uint32_t seed = 12345;
    for (int it = 0; it < 3000; it++) {
        memcpy(c, b, n);
        int flips = 1 + it % 4;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1664525u + 1013904223u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1664525u + 1013904223u;
            c[at] = (uint8_t)(seed >> 24);
        }
        load_any(c, n);
    }
    free(c);
    free(b);
    /* random garbage */
    uint8_t junk[512];
    for (int it = 0; it < 200; it++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            seed = seed * 1664525u + 1013904223u;
            junk[i] = (uint8_t)(seed >> 24);
        }
        load_any(junk, 1 + (size_t)it * 2);
    }
    /* a text file */
    const char *txt = "this is not an onnx model\n";
    load_any((const uint8_t *)txt, strlen(txt));
}

static void test_corrupt_file(void **state) {
    (void)state;
    const char *dir = shared_models();
    size_t n = 0;
    uint8_t *b = NULL;
    if (dir) {
        char path[1100];
        snprintf(path, sizeof path, "%s/small_cnn.onnx", dir);
        b = read_file(path, &n);
    } else {
        octet_model *m = rich_model();
        assert_int_equal(ot_model_serialize(m, &b, &n), OCTET_OK);
        octet_model_free(m);
    }
    assert_non_null(b);
    const char *p = tmp_path("trunc.onnx");
    size_t cuts[] = {1, 2, 7, 100, n / 3, n / 2, n - 100, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file(p, b, cuts[i]);
        octet_model *m = NULL;
        octet_status s = octet_model_load(&m, p);
        if (s == OCTET_OK) fail_msg("truncated to %zu of %zu bytes, but loaded", cuts[i], n);
        assert_non_null(strstr(octet_last_error(), p));   /* the message names the file */
    }
    /* flips in a real model */
    uint8_t *c = malloc(n);
    uint32_t seed = 99;
    for (int it = 0; it < 60; it++) {
        memcpy(c, b, n);
        for (int f = 0; f < 3; f++) {
            seed = seed * 1664525u + 1013904223u;
            /* bias towards the structure at the start and end of the file */
            size_t at = it % 2 ? (seed >> 4) % (n < 4096 ? n : 4096) : n - 1 - (seed >> 4) % (n < 4096 ? n : 4096);
            c[at] ^= (uint8_t)(1u << (seed % 8));
        }
        load_any(c, n);
    }
    free(c);
    free(b);
    /* not a file */
    octet_model *m = NULL;
    expect_error(octet_model_load(&m, g_tmp), OCTET_ERR_IO, "is a directory");
    expect_error(octet_model_load(&m, tmp_path("does_not_exist.onnx")), OCTET_ERR_IO, "does_not_exist.onnx");
    write_file(tmp_path("empty.onnx"), "", 0);
    expect_error(octet_model_load(&m, tmp_path("empty.onnx")), OCTET_ERR_PARSE, "empty");
}

/* Hand-made wire bytes. */
static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Builds nested messages inside out, from the end of a buffer: the content is buf[pos, cap). */
typedef struct rbuf {
    uint8_t *buf;
    size_t cap, pos;
} rbuf;

static void r_bytes(rbuf *r, const void *p, size_t n) {
    assert_true(n <= r->pos);
    r->pos -= n;
    memcpy(r->buf + r->pos, p, n);
}

/* Make everything so far the payload of a length-delimited field. */
static void r_wrap(rbuf *r, uint32_t field) {
    uint8_t head[20];
    size_t h = put_varint(head, (uint64_t)field << 3 | 2);
    h += put_varint(head + h, r->cap - r->pos);
    r_bytes(r, head, h);
}

static const uint8_t *r_data(const rbuf *r, size_t *n) {
    *n = r->cap - r->pos;
    return r->buf + r->pos;
}

static void test_wire_errors(void **state) {
    (void)state;
    octet_model *m = NULL;
    size_t n;
    /* ir_version (a varint) written as a string */
    uint8_t b1[] = {0x0a, 0x01, 'x'};
    expect_error(octet_model_load_memory(&m, b1, sizeof b1, NULL), OCTET_ERR_PARSE,
                 "field 'ir_version' of ModelProto at byte 0 is length-delimited, expected varint");
    /* graph (a message) written as a varint */
    uint8_t b2[] = {0x08, 0x08, 0x38, 0x05};
    expect_error(octet_model_load_memory(&m, b2, sizeof b2, NULL), OCTET_ERR_PARSE,
                 "field 'graph' of ModelProto at byte 2 is varint, expected length-delimited");
    /* a length past the end */
    uint8_t b3[] = {0x08, 0x08, 0x3a, 0x40, 0x00};
    expect_error(octet_model_load_memory(&m, b3, sizeof b3, NULL), OCTET_ERR_PARSE, "malformed protobuf field at byte 2");
    /* a group (wire type 3) */
    uint8_t b3g[] = {0x08, 0x08, 0x0b, 0x0c};
    expect_error(octet_model_load_memory(&m, b3g, sizeof b3g, NULL), OCTET_ERR_PARSE, "malformed protobuf field");

    uint8_t small[256];
    rbuf r = {small, sizeof small, sizeof small};
    /* TensorProto.dims (int64) as fixed32, inside an initializer inside the graph */
    const uint8_t dims32[] = {0x0d, 1, 2, 3, 4};
    r_bytes(&r, dims32, sizeof dims32);
    r_wrap(&r, 5);   /* GraphProto.initializer */
    r_wrap(&r, 7);   /* ModelProto.graph */
    const uint8_t *d = r_data(&r, &n);
    expect_error(octet_model_load_memory(&m, d, n, NULL), OCTET_ERR_PARSE, "field 'dims' of TensorProto");
    /* AttributeProto.floats packed, with a partial element */
    r.pos = r.cap;
    const uint8_t floats[] = {0x3a, 5, 0, 0, 0x80, 0x3f, 0};
    r_bytes(&r, floats, sizeof floats);
    r_wrap(&r, 5);   /* NodeProto.attribute */
    r_wrap(&r, 1);   /* GraphProto.node */
    r_wrap(&r, 7);
    d = r_data(&r, &n);
    expect_error(octet_model_load_memory(&m, d, n, NULL), OCTET_ERR_PARSE, "packed field 'floats' of AttributeProto");

    /* nesting: graph -> node -> attribute -> graph ... 40 graph levels (120 messages) */
    rbuf deep = {malloc((size_t)1 << 22), (size_t)1 << 22, (size_t)1 << 22};
    for (int level = 0; level < 40; level++) {
        r_wrap(&deep, 6);   /* AttributeProto.g */
        r_wrap(&deep, 5);   /* NodeProto.attribute */
        r_wrap(&deep, 1);   /* GraphProto.node */
    }
    r_wrap(&deep, 7);
    d = r_data(&deep, &n);
    expect_error(octet_model_load_memory(&m, d, n, NULL), OCTET_ERR_PARSE, "nested more than 100 deep");
    /* far deeper than protobuf-c's unbounded recursion would survive */
    deep.pos = deep.cap;
    for (int level = 0; level < 70000; level++) {
        r_wrap(&deep, 6);
        r_wrap(&deep, 5);
        r_wrap(&deep, 1);
    }
    r_wrap(&deep, 7);
    d = r_data(&deep, &n);
    expect_error(octet_model_load_memory(&m, d, n, NULL), OCTET_ERR_PARSE, "nested more than");
    free(deep.buf);
}

static void test_attr_errors(void **state) {
    (void)state;
    pbm p;
    pbm_init(&p, NULL, 0, true);
    Onnx__AttributeProto a, a2;
    onnx__attribute_proto__init(&a);
    a.name = "value";
    a.has_type = 1;
    a.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    Onnx__AttributeProto *as[2] = {&a, &a2};
    p.node.n_attribute = 1;
    p.node.attribute = as;
    octet_model *m = NULL;
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "attribute 'value' of Identity node 'id' is of type TENSOR but holds no tensor");
    /* untyped attributes (old writers) get their type from the value */
    a.has_type = 0;
    a.type = 0;
    a.has_i = 1;
    a.i = 5;
    assert_int_equal(pbm_load(&p, &m), OCTET_OK);
    assert_int_equal(m->graph->nodes[0]->attrs[0].type, OT_ATTR_INT);
    assert_int_equal(ot_node_attr_int(m->graph->nodes[0], "value", 0), 5);
    octet_model_free(m);
    a.has_i = 0;
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "has no value and no type");
    a.has_type = 1;
    a.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
    expect_error(pbm_load(&p, &m), OCTET_ERR_UNSUPPORTED, "SPARSE_TENSOR attributes are not supported");
    a.type = 99;
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "unknown type 99");
    a.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a2 = a;
    p.node.n_attribute = 2;
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "Identity node 'id' has attribute 'value' twice");
    /* a node without op_type */
    p.node.n_attribute = 0;
    p.node.op_type = "";
    expect_error(pbm_load(&p, &m), OCTET_ERR_PARSE, "has no op_type");
    /* graph inputs must be tensors; value_info octet cannot hold is dropped */
    pbm_init(&p, NULL, 0, false);
    Onnx__ValueInfoProto vi, vi2;
    Onnx__TypeProto tp, tp2;
    Onnx__TypeProto__Sequence seq;
    Onnx__TypeProto__Tensor tt;
    onnx__value_info_proto__init(&vi);
    onnx__type_proto__init(&tp);
    onnx__type_proto__sequence__init(&seq);
    onnx__type_proto__init(&tp2);
    onnx__type_proto__tensor__init(&tt);
    tt.has_elem_type = 1;
    tt.elem_type = OCTET_FLOAT;
    tp2.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp2.tensor_type = &tt;
    seq.elem_type = &tp2;
    tp.value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
    tp.sequence_type = &seq;
    vi.name = "seq_in";
    vi.type = &tp;
    Onnx__ValueInfoProto *vis[1] = {&vi};
    p.g.n_input = 1;
    p.g.input = vis;
    expect_error(pbm_load(&p, &m), OCTET_ERR_UNSUPPORTED, "graph input 'seq_in' is not a tensor");
    p.g.n_input = 0;
    p.g.n_value_info = 1;
    p.g.value_info = vis;
    assert_int_equal(pbm_load(&p, &m), OCTET_OK);
    assert_int_equal(m->graph->n_value_info, 0);
    octet_model_free(m);
    vi2 = vi;
    vi2.name = "bf16";
    tt.elem_type = 16;
    vi2.type = &tp2;
    vis[0] = &vi2;
    p.g.n_value_info = 0;
    p.g.n_output = 1;
    p.g.output = vis;
    expect_error(pbm_load(&p, &m), OCTET_ERR_UNSUPPORTED, "graph output 'bf16' has an element type octet does not support: bfloat16");
}

/* ---- atomic saving ---- */

static bool temp_files_left(void) {
    DIR *d = opendir(g_tmp);
    bool found = false;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp")) found = true;
    if (d) closedir(d);
    return found;
}

static void test_atomic_save(void **state) {
    (void)state;
    octet_model *m = rich_model();
    /* a folder that does not exist */
    expect_error(octet_model_save(m, tmp_path("no/such/dir/m.onnx")), OCTET_ERR_IO, "cannot create a temporary file");
    /* the destination is a folder: the rename fails, the folder stays, no temporary file is left */
    mkdir(tmp_path("a_dir.onnx"), 0755);
    expect_error(octet_model_save(m, tmp_path("a_dir.onnx")), OCTET_ERR_IO, "cannot replace");
    struct stat st;
    assert_int_equal(stat(tmp_path("a_dir.onnx"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_false(temp_files_left());
    /* a model that cannot be saved leaves an existing file untouched */
    const char *keep = tmp_path("keep.onnx");
    write_file(keep, "OLD", 3);
    octet_tensor *s = calloc(1, sizeof *s);
    s->dtype = OCTET_STRING;
    ot_graph_add_initializer(m->graph, "strs", s);
    expect_error(octet_model_save(m, keep), OCTET_ERR_UNSUPPORTED, "tensor 'strs' has dtype string");
    size_t n;
    uint8_t *b = read_file(keep, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "OLD", 3);
    free(b);
    m->graph->n_inits--;
    octet_tensor_free(s);
    free(m->graph->inits[m->graph->n_inits].name);
    /* a write error half way (file size limit): old file intact, no temporary file */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {2000, 2000};
        setrlimit(RLIMIT_FSIZE, &rl);
        octet_status st2 = octet_model_save(m, keep);
        _exit(st2 == OCTET_ERR_IO && strstr(octet_last_error(), "writing") ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    b = read_file(keep, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "OLD", 3);
    free(b);
    assert_false(temp_files_left());
    /* and a normal save replaces it, keeping its permissions */
    chmod(keep, 0640);
    assert_int_equal(octet_model_save(m, keep), OCTET_OK);
    assert_int_equal(stat(keep, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_true(st.st_size > 3);
    assert_false(temp_files_left());
    /* the plain helper */
    assert_int_equal(ot_atomic_write_file(tmp_path("plain.bin"), "abc", 3), OCTET_OK);
    b = read_file(tmp_path("plain.bin"), &n);
    assert_int_equal(n, 3);
    free(b);
    octet_model_free(m);
}

/* Loading from a pipe (no mmap). */
static void test_load_fifo(void **state) {
    (void)state;
    octet_model *m = rich_model();
    uint8_t *b;
    size_t n;
    assert_int_equal(ot_model_serialize(m, &b, &n), OCTET_OK);
    const char *fifo = tmp_path("model.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(fifo, O_WRONLY);
        size_t off = 0;
        while (fd >= 0 && off < n) {
            ssize_t w = write(fd, b + off, n - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
        _exit(0);
    }
    octet_model *back = NULL;
    octet_status s = octet_model_load(&back, fifo);
    waitpid(pid, NULL, 0);
    if (s != OCTET_OK) fail_msg("%s", octet_last_error());
    assert_models_equal(m, back);
    octet_model_free(back);
    octet_model_free(m);
    free(b);
}

static void test_bad_args(void **state) {
    (void)state;
    octet_model *m = NULL;
    expect_error(octet_model_load(NULL, "x"), OCTET_ERR_INVALID_ARG, "NULL");
    expect_error(octet_model_load(&m, NULL), OCTET_ERR_INVALID_ARG, "NULL");
    expect_error(octet_model_load_memory(&m, NULL, 5, NULL), OCTET_ERR_INVALID_ARG, "NULL");
    expect_error(octet_model_save(NULL, "x"), OCTET_ERR_INVALID_ARG, "NULL");
    uint8_t *b;
    size_t n;
    expect_error(ot_model_serialize(NULL, &b, &n), OCTET_ERR_INVALID_ARG, "no model");
    /* a model without an ai.onnx opset but with nodes is refused at save time */
    octet_model *e = ot_model_new();
    ot_graph_add_node(e->graph, "Relu", "", "r");
    expect_error(ot_model_serialize(e, &b, &n), OCTET_ERR_PARSE, "does not import");
    octet_model_free(e);
}

int main(void) {
    const char *peak = getenv("OCTET_ONNX_PEAK_CHILD");
    if (peak) return peak_child(peak);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_models),
        cmocka_unit_test(test_load_peak_memory),
        cmocka_unit_test(test_typed_fields),
        cmocka_unit_test(test_tensor_errors),
        cmocka_unit_test(test_sparse_and_functions),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_rich_roundtrip),
        cmocka_unit_test(test_external_data),
        cmocka_unit_test(test_save_external),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_corrupt_file),
        cmocka_unit_test(test_wire_errors),
        cmocka_unit_test(test_attr_errors),
        cmocka_unit_test(test_atomic_save),
        cmocka_unit_test(test_load_fifo),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
