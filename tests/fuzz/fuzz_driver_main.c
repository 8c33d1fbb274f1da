/* A plain main() for the libFuzzer harnesses, so every normal test run exercises them: runs the
 * harness on each file of the given corpus folders (or files), then on truncated and byte-flipped
 * variants of each (a fixed seed, so runs repeat). Exits non-zero if nothing was run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long g_runs;

static int skip_name(const char *name) {
    size_t n = strlen(name);
    return name[0] == '.' || (n > 3 && strcmp(name + n - 3, ".py") == 0) ||
           (n > 3 && strcmp(name + n - 3, ".md") == 0);
}

static void run_bytes(const uint8_t *p, size_t n) {
    /* a fresh heap copy of exactly n bytes, so ASan sees reads past the end */
    uint8_t *c = malloc(n ? n : 1);
    if (!c) return;
    if (n) memcpy(c, p, n);
    LLVMFuzzerTestOneInput(c, n);
    free(c);
    g_runs++;
}

static void run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    size_t n = b ? fread(b, 1, (size_t)(sz > 0 ? sz : 0), f) : 0;
    fclose(f);
    if (!b) return;
    run_bytes(b, n);
    /* cheap extra coverage: prefixes and a few mutated copies */
    uint32_t seed = 2166136261u;
    for (size_t i = 0; path[i]; i++) seed = (seed ^ (uint8_t)path[i]) * 16777619u;
    for (int k = 1; k <= 8 && n > 1; k++) run_bytes(b, n * (size_t)k / 9);
    uint8_t *c = malloc(n ? n : 1);
    for (int it = 0; c && n && it < 32; it++) {
        memcpy(c, b, n);
        for (int f2 = 0; f2 <= it % 3; f2++) {
            seed = seed * 1664525u + 1013904223u;
            c[(seed >> 8) % n] = (uint8_t)(seed >> 24);
        }
        run_bytes(c, n);
    }
    free(c);
    free(b);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open corpus folder %s\n", dir);
        return;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (skip_name(e->d_name)) continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
        }
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, cmp_names);   /* the same order every run */
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) run_file(path);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) run_dir(argv[i]);
        else run_file(argv[i]);
    }
    printf("%s: %ld inputs run\n", argv[0], g_runs);
    return g_runs > 0 ? 0 : 1;
}
