/*
 * Minimal Cortex-M runtime for the bare-metal kernel test programs: vector table,
 * .data/.bss, FPU/MVE enable, semihosting console and exit code (run_tests()'s result).
 */
#include <stddef.h>
#include <stdint.h>
extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
int run_tests(void);

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
void put(const char *s) { semihost(0x04, s); }
static void __attribute__((noreturn)) leave(int code)
{
    const uint32_t block[2] = {0x20026u, (uint32_t)code};
    semihost(0x20, block);
    for (;;) {}
}
void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *o = d; const uint8_t *i = s;
    while (n--) *o++ = *i++;
    return d;
}
void *memset(void *d, int c, size_t n)
{
    uint8_t *o = d;
    while (n--) *o++ = (uint8_t)c;
    return d;
}
void Reset_Handler(void)
{
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CP10/CP11: FPU and MVE */
    __asm__ volatile("dsb\n\tisb");
    for (uint32_t *s = &__data_load, *d = &__data_start; d < &__data_end;) *d++ = *s++;
    for (uint32_t *d = &__bss_start; d < &__bss_end;) *d++ = 0;
    leave(run_tests() ? 1 : 0);
}
static void Fault_Handler(void) { put("FAULT\n"); leave(99); }
__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &__stack_top, Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler,
};
