/*
 * The measured region around tc_model_invoke, written in assembly so that the harness's
 * own instructions inside it are fixed, whatever the compiler does to main.c.
 *
 * The instruction counter (tools/qemu-insn-count) counts [entry of tc_bench_begin, entry
 * of tc_bench_end). Besides tc_model_invoke and everything it calls, that range holds
 * exactly three harness instructions: `bx lr` of tc_bench_begin, `bl tc_model_invoke`
 * and `bl tc_bench_end`. The ELF exports that number as the absolute symbol
 * tc_bench_overhead_insns and the counter subtracts it once per invoke, so the reported
 * count is tc_model_invoke's alone.
 */
    .syntax unified
    .thumb
    .text

    .global tc_bench_overhead_insns
    .set tc_bench_overhead_insns, 3

    .section .text.tc_bench_begin, "ax", %progbits
    .global tc_bench_begin
    .type tc_bench_begin, %function
    .thumb_func
tc_bench_begin:
    bx lr
    .size tc_bench_begin, . - tc_bench_begin

    .section .text.tc_bench_end, "ax", %progbits
    .global tc_bench_end
    .type tc_bench_end, %function
    .thumb_func
tc_bench_end:
    bx lr                           /* leaves r0, the invoke status, untouched */
    .size tc_bench_end, . - tc_bench_end

    .section .text.tc_bench_invoke, "ax", %progbits
    .global tc_bench_invoke
    .type tc_bench_invoke, %function
    .thumb_func
tc_bench_invoke:
    push {r4, lr}                   /* r4 only keeps the stack 8-byte aligned (AAPCS) */
    bl tc_bench_begin
    bl tc_model_invoke
    bl tc_bench_end
    pop {r4, pc}
    .size tc_bench_invoke, . - tc_bench_invoke
