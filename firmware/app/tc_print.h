/*
 * A tiny printf for the console: %d %i %u %x %s %c %% with an optional zero-padded
 * width (%08x) and the l / z length modifiers. No floating point, no newlib (its printf
 * costs ~22 KB of flash).
 */
#ifndef TC_PRINT_H
#define TC_PRINT_H

#if defined(__GNUC__)
#define TC_PRINTF_FORMAT __attribute__((format(printf, 1, 2)))
#else
#define TC_PRINTF_FORMAT
#endif

void tc_printf(const char *format, ...) TC_PRINTF_FORMAT;

#endif /* TC_PRINT_H */
