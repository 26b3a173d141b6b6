/*
 * What the app needs from the machine it runs on. Two backends implement it:
 * boards/common/platform_semihost.c (Cortex-M: QEMU or a debugger via semihosting) and
 * boards/host/platform_host.c (a native build with stdio, for sanitizer runs).
 */
#ifndef TC_PLATFORM_H
#define TC_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes besides the model's own non-zero status. */
#define TC_EXIT_USAGE 2  /* bad command line, unreadable or short input file */
#define TC_EXIT_IO 3     /* cannot write the output file */
#define TC_EXIT_FAULT 4  /* the CPU faulted (HardFault and friends) */
#define TC_EXIT_STACK 5  /* the stack reached the end of its reserved region */

#define TC_FILE_READ 0
#define TC_FILE_WRITE 1

/* Opens a host file (relative to the emulator's or debugger's working directory).
 * Returns a handle >= 0, or -1. */
int tc_file_open(const char *path, int mode);
/* Length in bytes of an open file, or -1. */
long tc_file_length(int handle);
/* Reads exactly `bytes` bytes; returns 0 on success, -1 on a short read or error. */
int tc_file_read(int handle, void *buffer, size_t bytes);
/* Writes exactly `bytes` bytes; returns 0 on success, -1 on error. */
int tc_file_write(int handle, const void *buffer, size_t bytes);
void tc_file_close(int handle);

/* Writes a NUL-terminated string to the console (stdout). */
void tc_console_write(const char *text);

/* Bytes of the reserved stack that were ever used (painted at reset, scanned now),
 * or -1 where the platform cannot measure it (the host build). */
long tc_stack_high_water(void);
/* Bytes reserved for the stack (STACK_SIZE), or -1 where unknown (the host build). */
long tc_stack_reserved(void);

/* Ends the program with this exit code (what QEMU or the host shell returns). */
void tc_exit(int code) __attribute__((noreturn));

/*
 * The measured region: the app calls tc_bench_invoke(), which calls tc_bench_begin(),
 * tc_model_invoke() and tc_bench_end(). The markers are real, never-inlined functions so
 * that QEMU's instruction-counting plugin can find them by address.
 */
void tc_bench_begin(void);
void tc_bench_end(void);
int tc_bench_invoke(void);

#endif /* TC_PLATFORM_H */
