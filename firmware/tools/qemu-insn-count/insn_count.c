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
 * Report, one line:
 *   insn_count regions=R instructions=NET raw=RAW unbalanced=U
 * where NET = RAW - R * overhead, summed over all regions, and U counts markers that
 * arrived out of order (a begin inside a region, an end outside one).
 *
 * Build: gcc -shared -fPIC -O2 -o insn_count.so insn_count.c
 */
#include <inttypes.h>
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

static void on_begin(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    if (inside_region) {
        unbalanced++;
    }
    region_start = executed;
    inside_region = 1;
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
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
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
