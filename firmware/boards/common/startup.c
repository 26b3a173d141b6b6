/*
 * Cortex-M startup shared by every board: vector table, reset, fault reporting, and the
 * stack paint that lets the app report its stack high-water mark.
 *
 * RAM layout (boards/common/tinyconv.ld): [stack | .data | .bss]. The stack sits at the
 * bottom so that an overflow runs off the start of RAM and faults instead of silently
 * corrupting the arena.
 */
#include <stdint.h>

#include "semihost.h"
#include "tc_platform.h"

/* Linker-script symbols (boards/common/tinyconv.ld). */
extern uint32_t __stack_limit[];
extern uint32_t __stack_top[];
extern uint32_t __data_load[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];

int main(int argc, char **argv);
int tc_platform_args(char **argv, int max_args, char *buffer, int buffer_size);
void Reset_Handler(void);
void tc_fault_report(const uint32_t *frame, uint32_t exc_return) __attribute__((noreturn));

#define TC_STACK_PAINT 0xC5AC5AC5u
/* Words just below the live stack pointer left unpainted while painting (safety). */
#define TC_PAINT_MARGIN_WORDS 8
#define TC_MAX_ARGS 8
#define TC_CMDLINE_BYTES 256

/* System control block registers used here (ARMv7-M / ARMv8-M architecture manuals). */
#define TC_REG(addr) (*(volatile uint32_t *)(addr))
#define TC_SCB_CPACR TC_REG(0xE000ED88u)
#define TC_SCB_CCR TC_REG(0xE000ED14u)
#define TC_SCB_CFSR TC_REG(0xE000ED28u)
#define TC_SCB_HFSR TC_REG(0xE000ED2Cu)
#define TC_SCB_MMFAR TC_REG(0xE000ED34u)
#define TC_SCB_BFAR TC_REG(0xE000ED38u)
#define TC_SCB_ICIALLU TC_REG(0xE000EF50u)
#define TC_CCR_IC (1u << 17)
#define TC_CCR_UNALIGN_TRP (1u << 3)

static inline void tc_barrier(void)
{
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

static uint32_t *tc_stack_pointer(void)
{
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Fills the unused stack below the caller's frame with the paint pattern. */
static __attribute__((noinline)) void tc_paint_stack(void)
{
    uint32_t *const end = tc_stack_pointer() - TC_PAINT_MARGIN_WORDS;
    for (volatile uint32_t *word = __stack_limit; word < end; word++) {
        *word = TC_STACK_PAINT;
    }
}

long tc_stack_high_water(void)
{
    const volatile uint32_t *word = __stack_limit;
    while (word < __stack_top && *word == TC_STACK_PAINT) {
        word++;
    }
    return (long)((const volatile uint8_t *)__stack_top - (const volatile uint8_t *)word);
}

long tc_stack_reserved(void)
{
    return (long)((const uint8_t *)__stack_top - (const uint8_t *)__stack_limit);
}

static __attribute__((noinline)) void tc_init_memory(void)
{
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
}

/* Runs with the FPU on: C from here on may use floating point and MVE freely. */
static __attribute__((noinline, noreturn)) void tc_start(void)
{
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* Armv8-M checks the stack limit in hardware: an overflow is a UsageFault. */
    __asm__ volatile("msr msplim, %0" : : "r"(__stack_limit));
#endif
    tc_paint_stack();
    tc_init_memory();
#if defined(TC_ENABLE_ICACHE)
    /* Real Cortex-M7 boards: the instruction cache only. The data cache stays off because
     * a debugger serving semihosting reads and writes RAM behind its back. */
    tc_barrier();
    TC_SCB_ICIALLU = 0;
    tc_barrier();
    TC_SCB_CCR |= TC_CCR_IC;
    tc_barrier();
#endif
    char cmdline[TC_CMDLINE_BYTES];
    char *argv[TC_MAX_ARGS + 1];
    const int argc = tc_platform_args(argv, TC_MAX_ARGS, cmdline, (int)sizeof cmdline);
    tc_exit(main(argc, argv));
}

void Reset_Handler(void)
{
#if defined(__ARM_ARCH_6M__)
    /* An Armv6-M build faults on an unaligned word or halfword access, as the M0/M0+ do:
     * there CCR is read-only and UNALIGN_TRP reads as one, so nothing is written; an
     * Armv7-M core running this build (qemu-m0plus: QEMU's AN385 Cortex-M3) is made to
     * trap the same. */
    if ((TC_SCB_CCR & TC_CCR_UNALIGN_TRP) == 0u) {
        TC_SCB_CCR |= TC_CCR_UNALIGN_TRP;
        tc_barrier();
    }
#endif
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CP10 and CP11 full access: the FPU, and Helium, which shares the same enable. Nothing
     * before this point may touch a floating-point or vector register. */
    TC_SCB_CPACR |= (0xFu << 20);
    tc_barrier();
#endif
    tc_start();
}

static void tc_append(char **cursor, const char *text)
{
    while (*text != '\0') {
        *(*cursor)++ = *text++;
    }
}

static void tc_append_hex(char **cursor, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    tc_append(cursor, "0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        *(*cursor)++ = digits[(value >> shift) & 0xFu];
    }
}

/* Called by tc_fault_entry with the exception frame the CPU pushed. Never returns. */
__attribute__((used, noreturn)) void tc_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    char message[192];
    char *cursor = message;
    tc_append(&cursor, "tinyconv: fault, exception ");
    tc_append_hex(&cursor, ipsr & 0x1FFu);
    tc_append(&cursor, " (3 HardFault, 4 MemManage, 5 BusFault, 6 UsageFault) pc=");
    tc_append_hex(&cursor, frame[6]);
    tc_append(&cursor, " lr=");
    tc_append_hex(&cursor, frame[5]);
    tc_append(&cursor, " exc_return=");
    tc_append_hex(&cursor, exc_return);
#if !defined(__ARM_ARCH_6M__) /* Armv6-M has no fault status or address registers */
    tc_append(&cursor, " cfsr=");
    tc_append_hex(&cursor, TC_SCB_CFSR);
    tc_append(&cursor, " hfsr=");
    tc_append_hex(&cursor, TC_SCB_HFSR);
    tc_append(&cursor, " mmfar=");
    tc_append_hex(&cursor, TC_SCB_MMFAR);
    tc_append(&cursor, " bfar=");
    tc_append_hex(&cursor, TC_SCB_BFAR);
#endif
    tc_append(&cursor, "\n");
    *cursor = '\0';
    tc_console_write(message);
    tc_exit(TC_EXIT_FAULT);
}

/* Every exception other than reset: find the stacked frame (main or process stack, from
 * EXC_RETURN bit 2) and report it. Nothing here enables interrupts, so any exception is a
 * fault or a bug. */
__attribute__((naked)) static void tc_fault_entry(void)
{
#if defined(__ARM_ARCH_6M__)
    /* Armv6-M: no IT blocks, no TST with an immediate; BL reaches anywhere (B does not). */
    __asm__ volatile(
        "mov r1, lr\n\t"
        "movs r0, #4\n\t"
        "tst r0, r1\n\t"
        "bne 1f\n\t"
        "mrs r0, msp\n\t"
        "bl tc_fault_report\n"
        "1:\n\t"
        "mrs r0, psp\n\t"
        "bl tc_fault_report\n\t");
#else
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "b tc_fault_report\n\t");
#endif
}

/* Armv7-M / Armv8-M system exceptions; VTOR resets to the image base (where the linker
 * script puts this table) and no external interrupt is ever enabled. */
__attribute__((section(".vectors"), used)) const uintptr_t tc_vectors[16] = {
    (uintptr_t)__stack_top,
    (uintptr_t)Reset_Handler,
    (uintptr_t)tc_fault_entry, /* NMI */
    (uintptr_t)tc_fault_entry, /* HardFault */
    (uintptr_t)tc_fault_entry, /* MemManage */
    (uintptr_t)tc_fault_entry, /* BusFault */
    (uintptr_t)tc_fault_entry, /* UsageFault */
    (uintptr_t)tc_fault_entry, /* SecureFault (Armv8-M) */
    0,
    0,
    0,
    (uintptr_t)tc_fault_entry, /* SVCall */
    (uintptr_t)tc_fault_entry, /* DebugMonitor */
    0,
    (uintptr_t)tc_fault_entry, /* PendSV */
    (uintptr_t)tc_fault_entry, /* SysTick */
};
