#include "tc_print.h"

#include <stdarg.h>
#include <stddef.h>

#include "tc_platform.h"

/* Text is collected here and handed to the console in few, large writes (each semihosting
 * call is a trap to the host). */
typedef struct {
    char text[96];
    size_t used;
} tc_print_buffer;

static void tc_flush(tc_print_buffer *buffer)
{
    buffer->text[buffer->used] = '\0';
    tc_console_write(buffer->text);
    buffer->used = 0;
}

static void tc_put(tc_print_buffer *buffer, char c)
{
    if (buffer->used + 1 >= sizeof buffer->text) {
        tc_flush(buffer);
    }
    buffer->text[buffer->used++] = c;
}

static void tc_put_unsigned(tc_print_buffer *buffer, unsigned long value, unsigned base,
                            int width, char pad)
{
    char digits[24];
    int n = 0;
    do {
        const unsigned digit = (unsigned)(value % base);
        digits[n++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= base;
    } while (value != 0);
    for (; width > n; width--) {
        tc_put(buffer, pad);
    }
    while (n > 0) {
        tc_put(buffer, digits[--n]);
    }
}

static void tc_put_signed(tc_print_buffer *buffer, long value, int width, char pad)
{
    if (value < 0) {
        tc_put(buffer, '-');
        /* Negate in unsigned arithmetic: -LONG_MIN overflows a long. */
        tc_put_unsigned(buffer, 0ul - (unsigned long)value, 10, width - 1, pad);
    } else {
        tc_put_unsigned(buffer, (unsigned long)value, 10, width, pad);
    }
}

void tc_printf(const char *format, ...)
{
    tc_print_buffer buffer;
    buffer.used = 0;
    va_list args;
    va_start(args, format);
    for (const char *f = format; *f != '\0'; f++) {
        if (*f != '%') {
            tc_put(&buffer, *f);
            continue;
        }
        f++;
        char pad = ' ';
        if (*f == '0') {
            pad = '0';
            f++;
        }
        int width = 0;
        while (*f >= '0' && *f <= '9') {
            width = width * 10 + (*f++ - '0');
        }
        char length = 0;
        if (*f == 'l' || *f == 'z') {
            length = *f++;
        }
        switch (*f) {
        case 'd':
        case 'i': {
            long value = length == 'l'   ? va_arg(args, long)
                         : length == 'z' ? (long)va_arg(args, size_t)
                                         : va_arg(args, int);
            tc_put_signed(&buffer, value, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long value = length == 'l'   ? va_arg(args, unsigned long)
                                  : length == 'z' ? va_arg(args, size_t)
                                                  : va_arg(args, unsigned);
            tc_put_unsigned(&buffer, value, *f == 'x' ? 16u : 10u, width, pad);
            break;
        }
        case 's': {
            const char *text = va_arg(args, const char *);
            for (; *text != '\0'; text++) {
                tc_put(&buffer, *text);
            }
            break;
        }
        case 'c':
            tc_put(&buffer, (char)va_arg(args, int));
            break;
        case '%':
            tc_put(&buffer, '%');
            break;
        default: /* unknown conversion: print it as is */
            tc_put(&buffer, '%');
            if (*f == '\0') {
                f--;
            } else {
                tc_put(&buffer, *f);
            }
            break;
        }
    }
    va_end(args);
    tc_flush(&buffer);
}
