/*
 * The few C library functions a freestanding build still needs: the kernels use memcpy
 * and memset, and GCC itself emits calls to memcpy/memset/memmove/memcmp for struct
 * copies and recognised loops.
 *
 * `optimize("no-tree-loop-distribute-patterns")` stops GCC from turning these very loops
 * back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TC_LIBC __attribute__((optimize("no-tree-loop-distribute-patterns")))

static inline int tc_word_aligned(const void *a, const void *b)
{
    return (((uintptr_t)a | (uintptr_t)b) & 3u) == 0;
}

/* Front to back, word by word where both are aligned. Also a correct memmove when dst is
 * below src: each word is read before any write can reach it (a write lands below the
 * read that precedes it). */
TC_LIBC static void tc_copy_forward(uint8_t *d, const uint8_t *s, size_t n)
{
    if (tc_word_aligned(d, s)) {
        for (; n >= 16; n -= 16, d += 16, s += 16) {
            uint32_t *dw = (uint32_t *)(void *)d;
            const uint32_t *sw = (const uint32_t *)(const void *)s;
            dw[0] = sw[0];
            dw[1] = sw[1];
            dw[2] = sw[2];
            dw[3] = sw[3];
        }
        for (; n >= 4; n -= 4, d += 4, s += 4) {
            *(uint32_t *)(void *)d = *(const uint32_t *)(const void *)s;
        }
    }
    while (n-- > 0) {
        *d++ = *s++;
    }
}

TC_LIBC void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    tc_copy_forward(dst, src, n);
    return dst;
}

/* A streamed run's line buffers slide their kept rows down this way (tinyconv/stream.py). */
TC_LIBC void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d == s || n == 0) {
        return dst;
    }
    if (d < s) {
        tc_copy_forward(d, s, n);
    } else {
        while (n-- > 0) {
            d[n] = s[n];
        }
    }
    return dst;
}

TC_LIBC void *memset(void *dst, int value, size_t n)
{
    uint8_t *d = dst;
    const uint8_t byte = (uint8_t)value;
    while (n > 0 && ((uintptr_t)d & 3u) != 0) {
        *d++ = byte;
        n--;
    }
    const uint32_t word = byte * 0x01010101u;
    for (; n >= 4; n -= 4, d += 4) {
        *(uint32_t *)(void *)d = word;
    }
    while (n-- > 0) {
        *d++ = byte;
    }
    return dst;
}

TC_LIBC int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a;
    const uint8_t *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

TC_LIBC size_t strlen(const char *text)
{
    size_t n = 0;
    while (text[n] != '\0') {
        n++;
    }
    return n;
}
