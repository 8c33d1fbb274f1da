/* Data sets of samples for calibration and comparison (see calib_data.h). */
#include "calib_data.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image.h>

#include "cli.h"
#include "io/npy.h"
#include "io/npz.h"
#include "tensor/tensor.h"
#include "util/mem.h"

typedef enum file_kind { KIND_NPY, KIND_NPZ, KIND_IMAGE } file_kind;

/* One model input and where its samples come from. */
typedef struct in_spec {
    const ot_value_info *vi;   /* the model's declaration (only while opening: the graph may change after) */
    char *name;
    octet_dtype dtype;         /* what the model gets */
    octet_dtype file_dtype;    /* what the files hold (float64 is converted to float32) */
    bool stacked;              /* each array item is a whole input (rank + 1) */
    int item_ndim;             /* one sample's shape = file dims[1:] */
    int64_t item_dims[OCTET_MAX_DIMS];
    size_t item_numel;
    int64_t first_count;       /* samples in the first file (for messages) */
    octet_tensor *batch;       /* reused batch tensor */
    /* the current file's array: in memory (npz, Fortran-order npy) or read from f */
    octet_tensor *mem;
    FILE *f;
    size_t data_offset;
} in_spec;

struct calib_data {
    const octet_model *m;
    char **files;
    file_kind *kinds;
    int64_t *counts;            /* samples per file */
    int n_files;
    in_spec *in;
    int n_in;
    octet_tensor **out;         /* batch tensors handed out */
    int64_t available, total;   /* before / after max_samples and dropping a partial fixed batch */
    int batch;
    bool fixed_batch;
    /* iteration */
    int fi;                     /* current file */
    int64_t off;                /* next sample within it */
    int loaded;                 /* file whose arrays are open, -1 none */
    int64_t produced;
    /* images */
    bool images;
    int H, W, C;                /* the tensor's image size (after any crop) */
    int resize;                 /* --resize: shorter side */
    int size_h, size_w;         /* --size */
    bool crop;                  /* --crop HxW (= H, W) */
    bool nhwc;
    float mean[3], std[3];
    float *img_buf;
    char desc[512];
};

/* ---- options ---- */

void calib_data_options_init(calib_data_options *o) {
    memset(o, 0, sizeof *o);
    o->batch = 32;
}

/* "0.485,0.456,0.406" -> up to 3 floats. */
static bool parse_floats(const char *opt, const char *s, float *v, int *n) {
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (end == p || errno || !isfinite(x) || *n == 3 || (*end && *end != ',')) {
            cli_error(CLI_USAGE, "%s wants 1 or 3 numbers separated by commas, got '%s'", opt, s);
            return false;
        }
        v[(*n)++] = (float)x;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) {
            cli_error(CLI_USAGE, "%s wants 1 or 3 numbers separated by commas, got '%s'", opt, s);
            return false;
        }
    }
    if (*n != 1 && *n != 3) {
        cli_error(CLI_USAGE, "%s wants 1 or 3 numbers separated by commas, got '%s'", opt, s);
        return false;
    }
    return true;
}

static bool parse_size(const char *opt, const char *s, int *h, int *w) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10), b = a;
    if (end != s && !errno && (*end == 'x' || *end == 'X' || *end == ',')) {
        const char *q = end + 1;
        b = strtol(q, &end, 10);
        if (end == q) end = (char *)"?";
    }
    if (end == s || *end || errno || a < 1 || b < 1 || a > 16384 || b > 16384) {
        cli_error(CLI_USAGE, "%s wants HxW (or one number for a square) from 1 to 16384, got '%s'", opt, s);
        return false;
    }
    *h = (int)a;
    *w = (int)b;
    return true;
}

int calib_data_parse_opt(calib_data_options *o, int argc, char **argv, int *i) {
    const char *v;
    int r;
    if ((r = cli_opt(argc, argv, i, "--size", &v))) {
        return r < 0 || !parse_size("--size", v, &o->height, &o->width) ? -1 : 1;
    } else if ((r = cli_opt(argc, argv, i, "--crop", &v))) {
        return r < 0 || !parse_size("--crop", v, &o->crop_h, &o->crop_w) ? -1 : 1;
    } else if ((r = cli_opt(argc, argv, i, "--resize", &v))) {
        char *end;
        errno = 0;
        long n = r < 0 ? 0 : strtol(v, &end, 10);
        if (r < 0) return -1;
        if (end == v || *end || errno || n < 1 || n > 16384) {
            cli_error(CLI_USAGE, "--resize wants the shorter side's length from 1 to 16384, got '%s'", v);
            return -1;
        }
        o->resize = (int)n;
        return 1;
    } else if ((r = cli_opt(argc, argv, i, "--channels", &v))) {
        if (r < 0) return -1;
        if (strcmp(v, "1") && strcmp(v, "3")) {
            cli_error(CLI_USAGE, "--channels must be 1 or 3, not '%s'", v);
            return -1;
        }
        o->channels = v[0] - '0';
        return 1;
    } else if ((r = cli_opt(argc, argv, i, "--mean", &v))) {
        return r < 0 || !parse_floats("--mean", v, o->mean, &o->n_mean) ? -1 : 1;
    } else if ((r = cli_opt(argc, argv, i, "--std", &v))) {
        if (r < 0 || !parse_floats("--std", v, o->std, &o->n_std)) return -1;
        for (int k = 0; k < o->n_std; k++)
            if (o->std[k] == 0) {
                cli_error(CLI_USAGE, "--std values must not be 0, got '%s'", v);
                return -1;
            }
        return 1;
    } else if ((r = cli_opt(argc, argv, i, "--layout", &v))) {
        if (r < 0) return -1;
        if (strcasecmp(v, "nchw") == 0) o->layout = CALIB_LAYOUT_NCHW;
        else if (strcasecmp(v, "nhwc") == 0) o->layout = CALIB_LAYOUT_NHWC;
        else {
            cli_error(CLI_USAGE, "--layout must be nchw or nhwc, not '%s'", v);
            return -1;
        }
        return 1;
    }
    return 0;
}

const char *calib_data_options_help(void) {
    return "  images (a folder of .png/.jpg): decoded, resized (bilinear), center-cropped if asked, scaled\n"
           "  to [0,1], then (x - mean) / std per channel:\n"
           "  --size HxW              resize to HxW (default: the model's input shape; with --crop: no resize)\n"
           "  --resize N              resize the shorter side to N, keeping the aspect ratio\n"
           "  --crop HxW|N            then cut the center HxW (torchvision Resize(256) + CenterCrop(224):\n"
           "                          --resize 256 --crop 224)\n"
           "  --channels 1|3          grey or RGB (default: the model's channel dimension)\n"
           "  --mean M[,M,M]          per-channel mean (default 0)\n"
           "  --std S[,S,S]           per-channel standard deviation (default 1)\n"
           "  --layout nchw|nhwc      tensor layout (default: guessed from the model's input shape)\n";
}

/* ---- files ---- */

static bool has_ext(const char *name, const char *ext) {
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcasecmp(name + n - e, ext) == 0;
}

static int kind_of(const char *name) {
    if (has_ext(name, ".npy")) return KIND_NPY;
    if (has_ext(name, ".npz")) return KIND_NPZ;
    if (has_ext(name, ".png") || has_ext(name, ".jpg") || has_ext(name, ".jpeg")) return KIND_IMAGE;
    return -1;
}

/* A file given directly whose extension says nothing: look at its first bytes. */
static int sniff_kind(const char *path) {
    unsigned char b[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n >= 6 && b[0] == 0x93 && memcmp(b + 1, "NUMPY", 5) == 0) return KIND_NPY;
    if (n >= 4 && memcmp(b, "PK\x03\x04", 4) == 0) return KIND_NPZ;
    if (n >= 8 && memcmp(b, "\x89PNG", 4) == 0) return KIND_IMAGE;
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return KIND_IMAGE;
    return -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_file(calib_data *d, int *cap, const char *path, file_kind k) {
    int c1 = *cap, c2 = *cap;
    char *p = ot_strdup(path);
    if (!p || !ot_grow((void **)&d->files, &c1, d->n_files + 1, sizeof *d->files) ||
        !ot_grow((void **)&d->kinds, &c2, d->n_files + 1, sizeof *d->kinds)) {
        free(p);
        return cli_error(CLI_RUNTIME, "out of memory");
    }
    *cap = c1 < c2 ? c1 : c2;
    d->files[d->n_files] = p;
    d->kinds[d->n_files++] = k;
    return CLI_OK;
}

static int list_files(calib_data *d, const char *path) {
    struct stat st;
    int cap = 0;
    if (stat(path, &st) != 0) return cli_error(CLI_RUNTIME, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        int k = kind_of(path);
        if (k < 0) k = sniff_kind(path);
        if (k < 0)
            return cli_error(CLI_USAGE, "'%s' is not a .npy, .npz, PNG or JPEG file (or a folder of them)", path);
        return add_file(d, &cap, path, (file_kind)k);
    }
    DIR *dir = opendir(path);
    if (!dir) return cli_error(CLI_RUNTIME, "cannot open folder '%s': %s", path, strerror(errno));
    char **names = NULL;
    int n = 0, ncap = 0, rc = CLI_OK;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.' || kind_of(e->d_name) < 0) continue;
        char *full = NULL;
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        if (!(full = malloc(len)) || !ot_grow((void **)&names, &ncap, n + 1, sizeof *names)) {
            free(full);
            rc = cli_error(CLI_RUNTIME, "out of memory");
            break;
        }
        snprintf(full, len, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
        struct stat fs;
        if (stat(full, &fs) != 0 || !S_ISREG(fs.st_mode)) {
            free(full);
            continue;
        }
        names[n++] = full;
    }
    closedir(dir);
    if (rc == CLI_OK && n > 1) qsort(names, (size_t)n, sizeof *names, cmp_str);
    bool arrays = false, images = false;
    for (int i = 0; i < n; i++) {
        file_kind k = (file_kind)kind_of(names[i]);
        arrays |= k != KIND_IMAGE;
        images |= k == KIND_IMAGE;
        if (rc == CLI_OK) rc = add_file(d, &cap, names[i], k);
        free(names[i]);
    }
    free(names);
    if (rc != CLI_OK) return rc;
    if (n == 0) return cli_error(CLI_USAGE, "folder '%s' holds no .npy, .npz, .png or .jpg files", path);
    if (arrays && images)
        return cli_error(CLI_USAGE, "folder '%s' mixes arrays (.npy/.npz) and images; use one kind", path);
    return CLI_OK;
}

/* ---- arrays ---- */

static void close_sources(calib_data *d) {
    for (int i = 0; i < d->n_in; i++) {
        octet_tensor_free(d->in[i].mem);
        d->in[i].mem = NULL;
        if (d->in[i].f) fclose(d->in[i].f);
        d->in[i].f = NULL;
    }
    d->loaded = -1;
}

/* The header of a .npy file and an open stream positioned anywhere (caller seeks). */
static int npy_open(const char *path, ot_npy_header *h, FILE **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error(CLI_RUNTIME, "cannot open '%s': %s", path, strerror(errno));
    size_t n = 0, need = 128, cap = 0;
    unsigned char *buf = NULL;
    octet_status s;
    for (;;) {
        if (need > cap) {
            unsigned char *nb = realloc(buf, need);
            if (!nb) {
                free(buf);
                fclose(f);
                return cli_error(CLI_RUNTIME, "out of memory");
            }
            buf = nb;
            cap = need;
        }
        n += fread(buf + n, 1, need - n, f);
        size_t want = 0;
        s = ot_npy_parse_header(buf, n, h, &want);
        if (s == OCTET_OK || want <= n || n < need) break;   /* parsed, a real error, or end of file */
        need = want;
    }
    free(buf);
    if (s != OCTET_OK) {
        fclose(f);
        return cli_error(CLI_RUNTIME, "%s: %s", path, octet_last_error());
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || (uint64_t)st.st_size < (uint64_t)h->data_offset + h->data_bytes) {
        fclose(f);
        return cli_error(CLI_RUNTIME, "%s: truncated: the header promises %zu data bytes", path, h->data_bytes);
    }
    *out = f;
    return CLI_OK;
}

/* "float32[1024,1,28,28]" */
static char *type_str(octet_dtype dt, int ndim, const int64_t *dims, char *buf, size_t n) {
    int o = snprintf(buf, n, "%s", octet_dtype_name(dt));
    if (o >= 0 && (size_t)o < n) ot_shape_str(buf + o, n - (size_t)o, ndim, dims);
    return buf;
}

/* Check the first file's array for input k against the model, and set the input's sample shape. */
static int setup_input(calib_data *d, in_spec *s, const char *file, octet_dtype dt, int ndim, const int64_t *dims) {
    const ot_value_info *vi = s->vi;
    char want[256], got[256];
    cli_value_type_str(vi, want, sizeof want);
    type_str(dt, ndim, dims, got, sizeof got);
    if (ndim < 1)
        return cli_error(CLI_USAGE, "'%s' holds %s for input '%s': samples go on axis 0", file, got, vi->name);
    bool f64 = dt == OCTET_DOUBLE && vi->dtype == OCTET_FLOAT;
    if (vi->dtype != OCTET_UNDEFINED && vi->dtype != dt && !f64)
        return cli_error(CLI_USAGE, "input '%s' is %s but '%s' holds %s", vi->name, want, file, got);
    s->dtype = vi->dtype != OCTET_UNDEFINED ? vi->dtype : dt;
    s->file_dtype = dt;
    if (vi->ndim >= 0 && ndim == vi->ndim + 1) s->stacked = true;
    else if (vi->ndim >= 0 && ndim != vi->ndim)
        return cli_error(CLI_USAGE,
                         "input '%s' is %s but '%s' holds %s (samples on axis 0: the same rank, or one more for "
                         "a list of whole inputs)",
                         vi->name, want, file, got);
    /* the dimensions a sample must match: all of the input's (stacked), or all but the batch axis */
    int first = s->stacked ? 0 : 1;
    for (int a = first; vi->ndim >= 0 && a < vi->ndim; a++) {
        int64_t have = dims[a - first + 1];
        if (vi->dims[a].value >= 0 && vi->dims[a].value != have)
            return cli_error(CLI_USAGE, "input '%s' is %s but '%s' holds %s (dimension %d)", vi->name, want, file, got,
                             a);
    }
    s->item_ndim = ndim - 1;
    s->first_count = dims[0];
    s->item_numel = 1;
    for (int a = 1; a < ndim; a++) {
        s->item_dims[a - 1] = dims[a];
        s->item_numel *= (size_t)dims[a];
    }
    /* the run size this input allows */
    int need = s->stacked ? 1 : (vi->ndim >= 1 && vi->dims[0].value >= 0 ? (int)vi->dims[0].value : 0);
    if (s->stacked || need > 0) {
        if (d->fixed_batch && d->batch != need)
            return cli_error(CLI_USAGE, "input '%s' needs %d sample%s per run but another input needs %d", vi->name,
                             need, need == 1 ? "" : "s", d->batch);
        if (need < 1) need = 1;
        d->fixed_batch = true;
        d->batch = need;
    }
    return CLI_OK;
}

/* Later files must hold arrays shaped like the first one's. */
static int check_same(const in_spec *s, const char *first, const char *file, octet_dtype dt, int ndim,
                      const int64_t *dims) {
    char a[256], b[256];
    bool same = dt == s->file_dtype && ndim == s->item_ndim + 1;
    for (int i = 1; same && i < ndim; i++) same = dims[i] == s->item_dims[i - 1];
    if (same) return CLI_OK;
    int64_t fd[OCTET_MAX_DIMS] = {0};
    fd[0] = s->first_count;
    for (int i = 0; i < s->item_ndim; i++) fd[i + 1] = s->item_dims[i];
    type_str(s->file_dtype, s->item_ndim + 1, fd, a, sizeof a);
    type_str(dt, ndim, dims, b, sizeof b);
    return cli_error(CLI_USAGE, "input '%s': '%s' holds %s but '%s' holds %s (files may differ only on axis 0)",
                     s->vi->name, first, a, file, b);
}

static const octet_tensor *npz_find(char **names, octet_tensor **ts, int count, const char *name) {
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0) return ts[i];
    return NULL;
}

/* Read file fi's shapes (and count its samples); first = the file that set the input shapes. */
static int scan_array_file(calib_data *d, int fi) {
    const char *path = d->files[fi];
    int64_t count = -1;
    if (d->kinds[fi] == KIND_NPY) {
        if (d->n_in != 1)
            return cli_error(CLI_USAGE,
                             "'%s' holds one array but the model takes %d inputs: use .npz files with arrays named "
                             "after the inputs",
                             path, d->n_in);
        ot_npy_header h;
        FILE *f;
        int rc = npy_open(path, &h, &f);
        if (rc != CLI_OK) return rc;
        fclose(f);
        rc = fi == 0 ? setup_input(d, &d->in[0], path, h.dtype, h.ndim, h.dims)
                     : check_same(&d->in[0], d->files[0], path, h.dtype, h.ndim, h.dims);
        if (rc != CLI_OK) return rc;
        count = h.dims[0];
    } else {
        char **names;
        octet_tensor **ts;
        int n;
        if (ot_npz_load(path, &names, &ts, &n) != OCTET_OK) return cli_fail();
        int rc = CLI_OK;
        for (int k = 0; k < d->n_in && rc == CLI_OK; k++) {
            const octet_tensor *t = npz_find(names, ts, n, d->in[k].vi->name);
            if (!t && d->n_in == 1 && n == 1) t = ts[0];
            if (!t) {
                char list[512] = "";
                size_t o = 0;
                for (int j = 0; j < n && o < sizeof list; j++)
                    o += (size_t)snprintf(list + o, sizeof list - o, "%s'%s'", j ? ", " : "", names[j]);
                rc = cli_error(CLI_USAGE, "'%s' has no array named '%s' (the model's input); it holds %s", path,
                               d->in[k].vi->name, n ? list : "no arrays");
                break;
            }
            rc = fi == 0 ? setup_input(d, &d->in[k], path, t->dtype, t->ndim, t->dims)
                         : check_same(&d->in[k], d->files[0], path, t->dtype, t->ndim, t->dims);
            if (rc == CLI_OK && count >= 0 && t->ndim >= 1 && t->dims[0] != count)
                rc = cli_error(CLI_USAGE, "'%s': input '%s' has %lld samples but '%s' has %lld", path,
                               d->in[k].vi->name, (long long)t->dims[0], d->in[0].vi->name, (long long)count);
            if (rc == CLI_OK) count = t->dims[0];
        }
        ot_npz_free(names, ts, n);
        if (rc != CLI_OK) return rc;
    }
    d->counts[fi] = count;
    return CLI_OK;
}

/* Open file fi's arrays for reading samples. */
static int load_array_file(calib_data *d, int fi) {
    close_sources(d);
    const char *path = d->files[fi];
    if (d->kinds[fi] == KIND_NPY) {
        ot_npy_header h;
        FILE *f;
        int rc = npy_open(path, &h, &f);
        if (rc != CLI_OK) return rc;
        if (h.fortran_order) {   /* rare: let the loader transpose it in memory */
            fclose(f);
            if (octet_npy_load(&d->in[0].mem, path) != OCTET_OK) return cli_fail();
        } else {
            d->in[0].f = f;
            d->in[0].data_offset = h.data_offset;
        }
    } else {
        char **names;
        octet_tensor **ts;
        int n;
        if (ot_npz_load(path, &names, &ts, &n) != OCTET_OK) return cli_fail();
        for (int k = 0; k < d->n_in; k++) {
            int j = 0;
            while (j < n && strcmp(names[j], d->in[k].name) != 0) j++;
            if (j == n && d->n_in == 1 && n == 1) j = 0;
            if (j < n) {
                d->in[k].mem = ts[j];
                ts[j] = NULL;
            }
        }
        ot_npz_free(names, ts, n);
        for (int k = 0; k < d->n_in; k++)   /* the file changed since it was checked */
            if (!d->in[k].mem || d->in[k].mem->ndim < 1 || d->in[k].mem->dims[0] != d->counts[fi] ||
                (size_t)ot_tensor_numel(d->in[k].mem) != (size_t)d->counts[fi] * d->in[k].item_numel)
                return cli_error(CLI_RUNTIME, "'%s' changed while it was being read", path);
    }
    d->loaded = fi;
    return CLI_OK;
}

/* Copy samples [off, off + k) of the current file into the batch at sample position at. */
static int copy_samples(calib_data *d, int64_t off, int64_t k, int64_t at) {
    for (int i = 0; i < d->n_in; i++) {
        in_spec *s = &d->in[i];
        size_t fsz = octet_dtype_size(s->file_dtype), tsz = octet_dtype_size(s->dtype);
        size_t n = (size_t)k * s->item_numel;
        char *dst = (char *)s->batch->data + (size_t)at * s->item_numel * tsz;
        const void *src;
        void *tmp = NULL;
        if (s->mem) {
            src = (const char *)s->mem->data + (size_t)off * s->item_numel * fsz;
        } else {
            void *to = fsz == tsz ? (void *)dst : (tmp = ot_malloc(n * fsz + 1));
            if (!to) return cli_error(CLI_RUNTIME, "out of memory");
            if (fseeko(s->f, (off_t)(s->data_offset + (size_t)off * s->item_numel * fsz), SEEK_SET) != 0 ||
                fread(to, fsz, n, s->f) != n) {
                free(tmp);
                return cli_error(CLI_RUNTIME, "cannot read '%s': file truncated or changed", d->files[d->loaded]);
            }
            src = to;
        }
        if (s->file_dtype == s->dtype) {
            if (src != dst) memcpy(dst, src, n * tsz);
        } else {   /* float64 -> float32 */
            const double *a = src;
            float *b = (float *)dst;
            for (size_t j = 0; j < n; j++) b[j] = (float)a[j];
        }
        free(tmp);
    }
    return CLI_OK;
}

/* ---- images ---- */

/* The size an ih x iw image is resized to before any crop:
 *   --resize N  shorter side N, the longer one N * long / short rounded down (torchvision Resize(N));
 *   --size HxW  HxW;
 *   --crop      alone: the image's own size (the crop is cut from the decoded image);
 *   otherwise   the tensor's size. */
static void resized_size(const calib_data *d, int ih, int iw, int *rh, int *rw) {
    if (d->resize) {
        int64_t n = d->resize;
        *rh = iw <= ih ? (int)(n * ih / iw) : (int)n;
        *rw = iw <= ih ? (int)n : (int)(n * iw / ih);
    } else if (d->size_h) {
        *rh = d->size_h;
        *rw = d->size_w;
    } else if (d->crop) {
        *rh = ih;
        *rw = iw;
    } else {
        *rh = d->H;
        *rw = d->W;
    }
}

/* Where a crop of `part` starts in `total`: round((total - part) / 2) with Python's ties-to-even, as
 * torchvision's center_crop computes it (an odd margin of 9 gives 4 on top, 11 gives 6). */
static int center_offset(int total, int part) {
    int diff = total - part, q = diff / 2;
    return diff % 2 && q % 2 ? q + 1 : q;
}

/* An ih x iw image fits: the crop lies inside the resized image, or without a crop the resized image is
 * the tensor's size. */
static int check_geometry(const calib_data *d, const char *path, int ih, int iw) {
    int rh, rw;
    resized_size(d, ih, iw, &rh, &rw);
    if (rh < 1 || rw < 1 || rh > 65536 || rw > 65536)
        return cli_error(CLI_USAGE, "image '%s' (%dx%d) would be resized to %dx%d", path, ih, iw, rh, rw);
    if (d->crop && (rh < d->H || rw < d->W))
        return cli_error(CLI_USAGE, "image '%s' is %dx%d%s: smaller than --crop %dx%d", path, rh, rw,
                         d->resize || d->size_h ? " after resizing" : "", d->H, d->W);
    if (!d->crop && (rh != d->H || rw != d->W))
        return cli_error(CLI_USAGE, "image '%s' (%dx%d) is resized to %dx%d but the input takes %dx%d: add --crop %dx%d",
                         path, ih, iw, rh, rw, d->H, d->W, d->H, d->W);
    return CLI_OK;
}

static int setup_images(calib_data *d, const calib_data_options *o) {
    if (d->n_in != 1)
        return cli_error(CLI_USAGE, "images feed single-input models; this one takes %d inputs", d->n_in);
    in_spec *s = &d->in[0];
    const ot_value_info *vi = s->vi;
    char want[256];
    cli_value_type_str(vi, want, sizeof want);
    if (vi->dtype != OCTET_FLOAT && vi->dtype != OCTET_UNDEFINED)
        return cli_error(CLI_USAGE, "input '%s' is %s: images become float32 tensors", vi->name, want);
    if (vi->ndim >= 0 && vi->ndim != 4)
        return cli_error(CLI_USAGE, "input '%s' is %s: images need a 4-D input (NCHW or NHWC)", vi->name, want);
    int64_t dm[4] = {-1, -1, -1, -1};
    for (int a = 0; a < 4 && vi->ndim == 4; a++) dm[a] = vi->dims[a].value;
    bool c1 = dm[1] == 1 || dm[1] == 3, c3 = dm[3] == 1 || dm[3] == 3;
    calib_layout lay = o->layout;
    if (lay == CALIB_LAYOUT_AUTO) lay = (!c1 && c3) ? CALIB_LAYOUT_NHWC : CALIB_LAYOUT_NCHW;
    d->nhwc = lay == CALIB_LAYOUT_NHWC;
    int64_t mc = d->nhwc ? dm[3] : dm[1], mh = d->nhwc ? dm[1] : dm[2], mw = d->nhwc ? dm[2] : dm[3];
    d->C = o->channels ? o->channels : mc > 0 ? (int)mc : 3;
    if (d->C != 1 && d->C != 3)
        return cli_error(CLI_USAGE, "input '%s' is %s: %lld channels in %s layout; images give 1 or 3 (see --layout)",
                         vi->name, want, (long long)mc, d->nhwc ? "NHWC" : "NCHW");
    if (mc > 0 && mc != d->C)
        return cli_error(CLI_USAGE, "input '%s' is %s (%lld channels, %s) but --channels is %d", vi->name, want,
                         (long long)mc, d->nhwc ? "NHWC" : "NCHW", d->C);
    if (o->resize && o->height)
        return cli_error(CLI_USAGE, "--resize and --size both set the resized size: give one of them");
    d->resize = o->resize;
    d->size_h = o->height;
    d->size_w = o->width;
    d->crop = o->crop_h > 0;
    d->H = d->crop ? o->crop_h : o->height ? o->height : (int)mh;
    d->W = d->crop ? o->crop_w : o->width ? o->width : (int)mw;
    if ((d->H <= 0 || d->W <= 0) && d->resize && d->n_files > 0) {
        /* --resize alone on a model with free sizes: the first image says, the others must agree */
        int w, h, comp;
        if (stbi_info(d->files[0], &w, &h, &comp)) resized_size(d, h, w, &d->H, &d->W);
    }
    if (d->H <= 0 || d->W <= 0)
        return cli_error(CLI_USAGE, "input '%s' is %s: give the image size with --size HxW", vi->name, want);
    if ((mh > 0 && mh != d->H) || (mw > 0 && mw != d->W))
        return cli_error(CLI_USAGE, "input '%s' is %s (%lldx%lld images, %s) but --%s is %dx%d", vi->name, want,
                         (long long)mh, (long long)mw, d->nhwc ? "NHWC" : "NCHW", d->crop ? "crop" : "size", d->H,
                         d->W);
    if ((o->n_mean && o->n_mean != 1 && o->n_mean != d->C) || (o->n_std && o->n_std != 1 && o->n_std != d->C))
        return cli_error(CLI_USAGE, d->C == 1 ? "--mean and --std need 1 value for 1-channel images"
                                              : "--mean and --std need 1 or 3 values for 3-channel images");
    for (int c = 0; c < 3; c++) {
        d->mean[c] = o->n_mean ? o->mean[o->n_mean == 1 ? 0 : c] : 0.0f;
        d->std[c] = o->n_std ? o->std[o->n_std == 1 ? 0 : c] : 1.0f;
    }
    s->dtype = s->file_dtype = OCTET_FLOAT;
    s->item_ndim = 3;
    s->item_dims[0] = d->nhwc ? d->H : d->C;
    s->item_dims[1] = d->nhwc ? d->W : d->H;
    s->item_dims[2] = d->nhwc ? d->C : d->W;
    s->item_numel = (size_t)d->H * (size_t)d->W * (size_t)d->C;
    if (dm[0] > 0) {
        d->fixed_batch = true;
        d->batch = (int)dm[0];
    }
    for (int i = 0; i < d->n_files; i++) {
        int w, h, comp;
        if (!stbi_info(d->files[i], &w, &h, &comp)) {
            const char *why = stbi_failure_reason();
            return cli_error(CLI_RUNTIME, "cannot read image '%s': %s", d->files[i], why ? why : "unknown format");
        }
        int rc = check_geometry(d, d->files[i], h, w);
        if (rc != CLI_OK) return rc;
        d->counts[i] = 1;
    }
    return CLI_OK;
}

/* Bilinear resize to rh x rw with half-pixel centres (OpenCV INTER_LINEAR, ONNX Resize linear /
 * half_pixel), no antialiasing, of which only the oh x ow window at (top, left) is computed: out(y, x)
 * samples the source at ((top + y + 0.5) * ih / rh - 0.5, ...), clamped to the edge. */
static void resize_bilinear(const unsigned char *src, int ih, int iw, int c, int rh, int rw, int top, int left,
                            float *dst, int oh, int ow) {
    for (int y = 0; y < oh; y++) {
        double fy = ((double)(top + y) + 0.5) * ih / rh - 0.5;
        if (fy < 0) fy = 0;
        int y0 = (int)fy;
        if (y0 > ih - 1) y0 = ih - 1;
        int y1 = y0 + 1 < ih ? y0 + 1 : ih - 1;
        float wy = (float)(fy - y0);
        if (wy < 0) wy = 0;
        for (int x = 0; x < ow; x++) {
            double fx = ((double)(left + x) + 0.5) * iw / rw - 0.5;
            if (fx < 0) fx = 0;
            int x0 = (int)fx;
            if (x0 > iw - 1) x0 = iw - 1;
            int x1 = x0 + 1 < iw ? x0 + 1 : iw - 1;
            float wx = (float)(fx - x0);
            if (wx < 0) wx = 0;
            for (int k = 0; k < c; k++) {
                float p00 = src[((size_t)y0 * iw + x0) * c + k], p01 = src[((size_t)y0 * iw + x1) * c + k];
                float p10 = src[((size_t)y1 * iw + x0) * c + k], p11 = src[((size_t)y1 * iw + x1) * c + k];
                float top_ = p00 + (p01 - p00) * wx, bot = p10 + (p11 - p10) * wx;
                dst[((size_t)y * ow + x) * c + k] = top_ + (bot - top_) * wy;
            }
        }
    }
}

/* Decode image fi into batch position at: resize, center crop, scale, normalize, lay out. */
static int load_image(calib_data *d, int fi, int64_t at) {
    int w, h, comp;
    unsigned char *px = stbi_load(d->files[fi], &w, &h, &comp, d->C);
    if (!px) {
        const char *why = stbi_failure_reason();
        return cli_error(CLI_RUNTIME, "cannot decode image '%s': %s", d->files[fi], why ? why : "unknown error");
    }
    int rc = check_geometry(d, d->files[fi], h, w); /* it was checked when opened; the file may have changed */
    if (rc != CLI_OK) {
        stbi_image_free(px);
        return rc;
    }
    size_t hw = (size_t)d->H * (size_t)d->W;
    if (!d->img_buf && !(d->img_buf = ot_malloc(hw * (size_t)d->C * sizeof(float)))) {
        stbi_image_free(px);
        return cli_error(CLI_RUNTIME, "out of memory");
    }
    int rh, rw;
    resized_size(d, h, w, &rh, &rw);
    int top = d->crop ? center_offset(rh, d->H) : 0, left = d->crop ? center_offset(rw, d->W) : 0;
    resize_bilinear(px, h, w, d->C, rh, rw, top, left, d->img_buf, d->H, d->W);
    stbi_image_free(px);
    float *out = (float *)d->in[0].batch->data + (size_t)at * hw * (size_t)d->C;
    for (size_t p = 0; p < hw; p++)
        for (int c = 0; c < d->C; c++) {
            float v = (d->img_buf[p * (size_t)d->C + (size_t)c] / 255.0f - d->mean[c]) / d->std[c];
            out[d->nhwc ? p * (size_t)d->C + (size_t)c : (size_t)c * hw + p] = v;
        }
    return CLI_OK;
}

/* ---- the reader ---- */

int calib_data_open(calib_data **out, const char *path, const octet_model *m, const calib_data_options *o) {
    *out = NULL;
    calib_data_options dflt;
    if (!o) {
        calib_data_options_init(&dflt);
        o = &dflt;
    }
    calib_data *d = calloc(1, sizeof *d);
    if (!d) return cli_error(CLI_RUNTIME, "out of memory");
    d->m = m;
    d->loaded = -1;
    d->batch = o->batch > 0 ? o->batch : 32;
    const ot_graph *g = m->graph;
    int rc = CLI_OK;
    d->in = calloc((size_t)g->n_inputs + 1, sizeof *d->in);
    d->out = calloc((size_t)g->n_inputs + 1, sizeof *d->out);
    if (!d->in || !d->out) rc = cli_error(CLI_RUNTIME, "out of memory");
    for (int i = 0; rc == CLI_OK && i < g->n_inputs; i++)
        if (cli_is_real_input(g, &g->inputs[i])) {
            d->in[d->n_in].vi = &g->inputs[i];
            if (!(d->in[d->n_in++].name = ot_strdup(g->inputs[i].name))) rc = cli_error(CLI_RUNTIME, "out of memory");
        }
    if (rc == CLI_OK && d->n_in == 0) rc = cli_error(CLI_USAGE, "the model takes no inputs: nothing to feed");
    if (rc == CLI_OK) rc = list_files(d, path);
    if (rc == CLI_OK && !(d->counts = calloc((size_t)d->n_files + 1, sizeof *d->counts)))
        rc = cli_error(CLI_RUNTIME, "out of memory");
    if (rc == CLI_OK) {
        d->images = d->kinds[0] == KIND_IMAGE;
        if (d->images) {
            rc = setup_images(d, o);
        } else {
            if (o->height || o->resize || o->crop_h || o->channels || o->n_mean || o->n_std || o->layout)
                rc = cli_error(CLI_USAGE, "--size, --resize, --crop, --channels, --mean, --std and --layout apply to "
                               "images, and '%s' holds arrays", path);
            for (int i = 0; rc == CLI_OK && i < d->n_files; i++) rc = scan_array_file(d, i);
        }
    }
    if (rc == CLI_OK) {
        for (int i = 0; i < d->n_files; i++) d->available += d->counts[i];
        d->total = d->available;
        if (o->max_samples > 0 && o->max_samples < d->total) d->total = o->max_samples;
        if (d->fixed_batch && d->total % d->batch) {
            int64_t drop = d->total % d->batch;
            fprintf(stderr, "octet: note: the model runs %d samples at a time: the last %lld sample%s left out\n",
                    d->batch, (long long)drop, drop == 1 ? " is" : "s are");
            d->total -= drop;
        }
        if (d->total == 0) rc = cli_error(CLI_USAGE, "'%s' holds no samples%s", path,
                                          d->available ? " for a whole batch" : "");
    }
    /* batch tensors */
    for (int i = 0; rc == CLI_OK && i < d->n_in; i++) {
        in_spec *s = &d->in[i];
        int64_t dims[OCTET_MAX_DIMS];
        int nd = 0;
        if (!s->stacked) dims[nd++] = d->batch;
        if (nd + s->item_ndim > OCTET_MAX_DIMS) {
            rc = cli_error(CLI_USAGE, "input '%s': too many dimensions", s->name);
            break;
        }
        for (int a = 0; a < s->item_ndim; a++) dims[nd++] = s->item_dims[a];
        size_t bytes;
        if (!ot_mul_ok(s->item_numel * octet_dtype_size(s->dtype), (size_t)d->batch, &bytes) || bytes > ((size_t)1 << 34))
            rc = cli_error(CLI_USAGE, "input '%s': a batch of %d samples is too large; use a smaller --batch",
                           s->name, d->batch);
        else if (!(s->batch = ot_tensor_new(s->dtype, nd, dims)))
            rc = cli_error(CLI_RUNTIME, "out of memory for a batch of %d samples (use a smaller --batch)", d->batch);
        d->out[i] = s->batch;
    }
    if (rc != CLI_OK) {
        calib_data_free(d);
        return rc;
    }
    if (d->n_files > 1)
        snprintf(d->desc, sizeof d->desc, "%lld samples from %s (%d %s)", (long long)d->total, path, d->n_files,
                 d->images ? "images" : "files");
    else
        snprintf(d->desc, sizeof d->desc, "%lld samples from %s", (long long)d->total, path);
    *out = d;
    return CLI_OK;
}

void calib_data_free(calib_data *d) {
    if (!d) return;
    close_sources(d);
    for (int i = 0; i < d->n_in; i++) {
        octet_tensor_free(d->in[i].batch);
        free(d->in[i].name);
    }
    for (int i = 0; i < d->n_files; i++) free(d->files[i]);
    free(d->files);
    free(d->kinds);
    free(d->counts);
    free(d->in);
    free(d->out);
    free(d->img_buf);
    free(d);
}

int64_t calib_data_samples(const calib_data *d) { return d->total; }
int64_t calib_data_available(const calib_data *d) { return d->available; }
int calib_data_input_count(const calib_data *d) { return d->n_in; }
const char *calib_data_describe(const calib_data *d) { return d->desc; }

void calib_data_rewind(calib_data *d) {
    close_sources(d);
    d->fi = 0;
    d->off = 0;
    d->produced = 0;
}

void calib_data_limit(calib_data *d, int64_t n) {
    if (d->fixed_batch && n % d->batch) n += d->batch - n % d->batch;
    if (n > 0 && n < d->total) d->total = n;
}

int calib_data_next(calib_data *d, octet_tensor *const **batch, int64_t *n) {
    *batch = NULL;
    *n = 0;
    int64_t want = d->total - d->produced;
    if (want <= 0) return 0;
    if (want > d->batch) want = d->batch;
    int64_t at = 0;
    while (at < want) {
        if (d->fi >= d->n_files) {
            cli_error(CLI_RUNTIME, "the data ended early (files changed?)");
            return -1;
        }
        if (d->off >= d->counts[d->fi]) {
            d->fi++;
            d->off = 0;
            continue;
        }
        int64_t k = d->counts[d->fi] - d->off;
        if (k > want - at) k = want - at;
        int rc;
        if (d->images) {
            rc = load_image(d, d->fi, at);
        } else {
            rc = d->loaded == d->fi ? CLI_OK : load_array_file(d, d->fi);
            if (rc == CLI_OK) rc = copy_samples(d, d->off, k, at);
        }
        if (rc != CLI_OK) return -1;
        d->off += k;
        at += k;
    }
    for (int i = 0; i < d->n_in; i++)
        if (!d->in[i].stacked) d->in[i].batch->dims[0] = want;   /* a short last batch */
    d->produced += want;
    *batch = d->out;
    *n = want;
    return 1;
}

/* ---- progress ---- */

void cli_progress_start(cli_progress *p, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    p->on = isatty(2) && total > 0;
    p->label = label;
    p->total = total;
    p->t0 = cli_now_ms();
    p->last = -1e9;
}

void cli_progress_update(cli_progress *p, int64_t done) {
    if (!p->on) return;
    double now = cli_now_ms();
    if (now - p->last < 100 && done < p->total) return;   /* at most 10 redraws a second */
    p->last = now;
    enum { W = 24 };
    char bar[W + 1];
    int fill = (int)(done * W / (p->total ? p->total : 1));
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
    bar[W] = 0;
    fprintf(stderr, "\r%s [%s] %lld/%lld samples %.1f s", p->label, bar, (long long)done, (long long)p->total,
            (now - p->t0) / 1000.0);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (!p->on) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}
