/*
 * Arm semihosting: the program asks the host (QEMU, or OpenOCD/pyOCD on a real board) to
 * do I/O for it by executing `bkpt 0xAB` with an operation number in r0 and a pointer to
 * its argument block in r1; the result comes back in r0.
 */
#ifndef TC_SEMIHOST_H
#define TC_SEMIHOST_H

#include <stdint.h>

#define TC_SYS_OPEN 0x01
#define TC_SYS_CLOSE 0x02
#define TC_SYS_WRITE0 0x04
#define TC_SYS_WRITE 0x05
#define TC_SYS_READ 0x06
#define TC_SYS_FLEN 0x0C
#define TC_SYS_GET_CMDLINE 0x15
#define TC_SYS_EXIT_EXTENDED 0x20

/* SYS_OPEN modes (ISO C fopen modes by index). */
#define TC_SYS_OPEN_RB 1
#define TC_SYS_OPEN_WB 5

/* Reason code for SYS_EXIT_EXTENDED: a normal application exit, with an exit code. */
#define TC_ADP_STOPPED_APPLICATION_EXIT 0x20026

static inline int32_t tc_semihost_call(int32_t op, const void *args)
{
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = args;
    /* "memory": the host reads and writes the argument block and the buffers it names. */
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

#endif /* TC_SEMIHOST_H */
