/*
 * QEMU TCG plugin: the exact number of guest instructions executed between two markers.
 *
 * QEMU models no cycles, but it executes every guest instruction exactly once, in order,
 * so an instruction count is exact and repeatable run to run. Every translated
 * instruction increments a counter inline (cheap, and exact even when a translation block
 * is left early by an exception). The instruction at `begin` snapshots the counter and
 * the one at `end` adds the difference to the total, so each region counts the
 * instructions in [entry of begin, entry of end), whatever the callback order inside one
 * instruction (it is the same at both markers).
 *
 * Arguments (QEMU 7.2 syntax: -plugin insn_count.so,begin=0x...,end=0x...,out=FILE):
 *   begin=ADDR     address of tc_bench_begin (bit 0, the Thumb bit, is ignored)
 *   end=ADDR       address of tc_bench_end
 *   overhead=N     instructions of the harness inside every region that are not the
 *                  measured code (the firmware exports it as tc_bench_overhead_insns);
 *                  subtracted once per region
 *   out=FILE       where to write the report (default: stderr)
 *   mark=ADDR      (profiling) address of tc_profile_mark: every call inside a region
 *                  closes the current layer bucket and opens the next, so bucket k
 *                  counts [entry of mark k-1, entry of mark k) (bucket 0 from the
 *                  region's begin, the last one up to its end): the buckets of a region
 *                  add up exactly to the region's count
 *   funcs=FILE     (profiling) text file, one function per line: "START END" (hex or
 *                  decimal, END exclusive, ranges sorted and disjoint); every instruction
 *                  inside a region is counted for the range that holds its PC, or for
 *                  "outside" (index = number of ranges) where none does
 * Report: the first line
 *   insn_count regions=R instructions=NET raw=RAW unbalanced=U
 * where NET = RAW - R * overhead, summed over all regions, and U counts markers that
 * arrived out of order (a begin inside a region, an end or mark outside one, a region
 * with a different number of marks than the first). With mark= or funcs=, then
 *   profile layers=L funcs=F
 *   layer K N                (L lines: bucket K's instructions, summed over regions,
 *                             with R * overhead taken off bucket 0, so they add up to NET)
 *   func J N                 (F + 1 lines, J = F is "outside every range"; raw counts,
 *                             the harness's own instructions included)
 *   layer_func K J N         (the nonzero instructions of range J inside bucket K)
 *
 * Build: gcc -shared -fPIC -O2 -o insn_count.so insn_count.c
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_v1.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

static uint64_t begin_addr = UINT64_MAX;
static uint64_t end_addr = UINT64_MAX;
static uint64_t overhead_per_region;
static char *report_path;

static uint64_t executed; /* incremented inline by every executed instruction */
static uint64_t region_start;
static int inside_region;
static uint64_t raw_total;
static uint64_t regions;
static uint64_t unbalanced;

/* Profiling: layer buckets split by tc_profile_mark, and per-function counters. */
static uint64_t mark_addr = UINT64_MAX;
static uint64_t bucket_start;
static size_t bucket;             /* the open bucket of the current region */
static size_t buckets_per_region = SIZE_MAX; /* of the first region */
static size_t layer_capacity;
static uint64_t *layer_counts;    /* [layer_capacity] */
static uint64_t *layer_func;      /* [layer_capacity][n_funcs + 1] */

static size_t n_funcs;
static uint64_t *func_start;      /* [n_funcs], sorted */
static uint64_t *func_end;        /* [n_funcs], exclusive */
static uint64_t *func_executed;   /* [n_funcs + 1]: incremented inline, all the time */
static uint64_t *func_snapshot;   /* [n_funcs + 1]: func_executed when the bucket opened */
static uint64_t *func_counts;     /* [n_funcs + 1]: inside regions */

static void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    if (p == NULL) {
        fprintf(stderr, "insn_count: out of memory\n");
        exit(1);
    }
    return p;
}

static void grow_layers(size_t needed)
{
    if (needed <= layer_capacity) {
        return;
    }
    size_t capacity = layer_capacity ? layer_capacity : 64;
    while (capacity < needed) {
        capacity *= 2;
    }
    uint64_t *counts = xcalloc(capacity, sizeof *counts);
    uint64_t *matrix = xcalloc(capacity * (n_funcs + 1), sizeof *matrix);
    if (layer_counts != NULL) {
        memcpy(counts, layer_counts, layer_capacity * sizeof *counts);
        memcpy(matrix, layer_func, layer_capacity * (n_funcs + 1) * sizeof *matrix);
        free(layer_counts);
        free(layer_func);
    }
    layer_counts = counts;
    layer_func = matrix;
    layer_capacity = capacity;
}

static void open_bucket(void)
{
    bucket_start = executed;
    if (func_executed != NULL) {
        memcpy(func_snapshot, func_executed, (n_funcs + 1) * sizeof *func_snapshot);
    }
}

static void close_bucket(void)
{
    grow_layers(bucket + 1);
    layer_counts[bucket] += executed - bucket_start;
    if (func_executed != NULL) {
        uint64_t *row = layer_func + bucket * (n_funcs + 1);
        for (size_t j = 0; j <= n_funcs; j++) {
            const uint64_t d = func_executed[j] - func_snapshot[j];
            row[j] += d;
            func_counts[j] += d;
        }
    }
}

static void on_begin(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    if (inside_region) {
        unbalanced++;
    }
    region_start = executed;
    inside_region = 1;
    bucket = 0;
    open_bucket();
}

static void on_mark(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    if (!inside_region) {
        unbalanced++;
        return;
    }
    close_bucket();
    bucket++;
    open_bucket();
}

static void on_end(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    if (!inside_region) {
        unbalanced++;
        return;
    }
    raw_total += executed - region_start;
    regions++;
    inside_region = 0;
    close_bucket();
    if (buckets_per_region == SIZE_MAX) {
        buckets_per_region = bucket + 1;
    } else if (buckets_per_region != bucket + 1) {
        unbalanced++;
    }
}

/* The index of the range holding pc, or n_funcs where none does. */
static size_t func_of(uint64_t pc)
{
    size_t lo = 0, hi = n_funcs;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (func_start[mid] <= pc) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return (lo > 0 && pc < func_end[lo - 1]) ? lo - 1 : n_funcs;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    const size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        const uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (pc == begin_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
        } else if (pc == end_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
        } else if (pc == mark_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        if (func_executed != NULL) {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                       &func_executed[func_of(pc)], 1);
        }
    }
}

static void write_report(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    const uint64_t net = raw_total - regions * overhead_per_region;
    FILE *out = stderr;
    if (report_path != NULL) {
        out = fopen(report_path, "w");
        if (out == NULL) {
            fprintf(stderr, "insn_count: cannot write %s\n", report_path);
            return;
        }
    }
    fprintf(out,
            "insn_count regions=%" PRIu64 " instructions=%" PRIu64 " raw=%" PRIu64
            " unbalanced=%" PRIu64 "\n",
            regions, net, raw_total, unbalanced);
    if (mark_addr != UINT64_MAX || func_executed != NULL) {
        const size_t layers = buckets_per_region == SIZE_MAX ? 0 : buckets_per_region;
        fprintf(out, "profile layers=%zu funcs=%zu\n", layers, n_funcs);
        for (size_t k = 0; k < layers && k < layer_capacity; k++) {
            const uint64_t count = layer_counts[k] - (k == 0 ? regions * overhead_per_region : 0);
            fprintf(out, "layer %zu %" PRIu64 "\n", k, count);
        }
        for (size_t j = 0; func_counts != NULL && j <= n_funcs; j++) {
            fprintf(out, "func %zu %" PRIu64 "\n", j, func_counts[j]);
        }
        for (size_t k = 0; func_counts != NULL && k < layers && k < layer_capacity; k++) {
            for (size_t j = 0; j <= n_funcs; j++) {
                const uint64_t count = layer_func[k * (n_funcs + 1) + j];
                if (count != 0) {
                    fprintf(out, "layer_func %zu %zu %" PRIu64 "\n", k, j, count);
                }
            }
        }
    }
    if (out != stderr) {
        fclose(out);
    }
}

static int parse_address(const char *text, uint64_t *value)
{
    char *rest = NULL;
    const unsigned long long parsed = strtoull(text, &rest, 0);
    if (rest == text || *rest != '\0') {
        return -1;
    }
    *value = (uint64_t)parsed;
    return 0;
}

/* Reads the funcs= file: "START END" per line, sorted, disjoint. */
static int load_funcs(const char *path)
{
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        fprintf(stderr, "insn_count: cannot read %s\n", path);
        return -1;
    }
    size_t capacity = 256;
    func_start = xcalloc(capacity, sizeof *func_start);
    func_end = xcalloc(capacity, sizeof *func_end);
    unsigned long long start, end;
    int fields;
    while ((fields = fscanf(in, "%lli %lli", &start, &end)) == 2) {
        if (n_funcs == capacity) {
            capacity *= 2;
            func_start = realloc(func_start, capacity * sizeof *func_start);
            func_end = realloc(func_end, capacity * sizeof *func_end);
            if (func_start == NULL || func_end == NULL) {
                fprintf(stderr, "insn_count: out of memory\n");
                fclose(in);
                return -1;
            }
        }
        if (end < start || (n_funcs > 0 && start < func_end[n_funcs - 1])) {
            fprintf(stderr, "insn_count: %s: ranges must be sorted and disjoint (line %zu)\n",
                    path, n_funcs + 1);
            fclose(in);
            return -1;
        }
        func_start[n_funcs] = start & ~1ULL;
        func_end[n_funcs] = end & ~1ULL;
        n_funcs++;
    }
    const int bad = fields != EOF;
    fclose(in);
    if (bad) {
        fprintf(stderr, "insn_count: %s: unreadable line %zu\n", path, n_funcs + 1);
        return -1;
    }
    func_executed = xcalloc(n_funcs + 1, sizeof *func_executed);
    func_snapshot = xcalloc(n_funcs + 1, sizeof *func_snapshot);
    func_counts = xcalloc(n_funcs + 1, sizeof *func_counts);
    return 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = strchr(arg, '=');
        if (value == NULL) {
            fprintf(stderr, "insn_count: argument '%s' is not key=value\n", arg);
            return -1;
        }
        value++;
        int bad = 0;
        if (strncmp(arg, "begin=", 6) == 0) {
            bad = parse_address(value, &begin_addr);
            begin_addr &= ~(uint64_t)1;
        } else if (strncmp(arg, "end=", 4) == 0) {
            bad = parse_address(value, &end_addr);
            end_addr &= ~(uint64_t)1;
        } else if (strncmp(arg, "overhead=", 9) == 0) {
            bad = parse_address(value, &overhead_per_region);
        } else if (strncmp(arg, "out=", 4) == 0) {
            report_path = strdup(value);
        } else if (strncmp(arg, "mark=", 5) == 0) {
            bad = parse_address(value, &mark_addr);
            mark_addr &= ~(uint64_t)1;
        } else if (strncmp(arg, "funcs=", 6) == 0) {
            bad = load_funcs(value);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "insn_count: bad argument '%s'\n", arg);
            return -1;
        }
    }
    if (begin_addr == UINT64_MAX || end_addr == UINT64_MAX) {
        fprintf(stderr, "insn_count: begin= and end= addresses are required\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, write_report, NULL);
    return 0;
}
