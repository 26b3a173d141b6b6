/*
 * Private to the binary elementwise kernels (add, sub, mul): the broadcasting walk they
 * share (their SIMD helpers are in tc_nn_simd.h).
 *
 * Broadcasting: the output's NHWC dims are walked as contiguous runs ("rows"). Along each
 * dim an input either advances with the output or stays put (its dim is 1). Adjacent dims
 * where both inputs behave alike are merged, so equal shapes become one run of the whole
 * tensor, [1,H,W,C] x [1,1,1,C] becomes H*W runs of C against the same C values, and a
 * scalar operand becomes one run with a fixed second operand. A row function then handles
 * one run with each input's step being 1 (advancing) or 0 (repeated value).
 */
#ifndef TC_ELEMENTWISE_INTERNAL_H
#define TC_ELEMENTWISE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tc_nn_elementwise.h"
#include "tc_nn_simd.h"

/* The scalar requantization of the SIMD builds: tc_requantize_fast (tc_nn_simd.h), the same
 * bits without the 64-bit division; the portable build keeps the reference tc_requantize. */
#if TC_ISA_PORTABLE
#define tc_ew_requantize tc_requantize
#else
#define tc_ew_requantize tc_requantize_fast
#endif

#if TC_ISA_DSP
/* Per byte: clamp a word of four int8 to [lo, hi] (each repeated in four bytes). */
static inline uint32_t tc_ew_clamp_s8x4(uint32_t v, uint32_t lo4, uint32_t hi4)
{
    (void)__ssub8(v, lo4); /* GE where v >= lo */
    v = __sel(v, lo4);
    (void)__ssub8(v, hi4); /* GE where v >= hi */
    return __sel(hi4, v);
}

#endif

static inline uint32_t tc_ew_dup_s8x4(int32_t v)
{
    return (uint32_t)(uint8_t)v * 0x01010101u;
}

/* For loops that read four elements of each input a pass: a repeated operand (step 0) is
 * read from `repeated`, four copies of its value, which does not advance. Returns how far
 * the input advances per pass. */
static inline int32_t tc_ew_word_source(const int8_t **input, int32_t step, int8_t repeated[4])
{
    if (!step) {
        tc_write_s32(repeated, (int32_t)tc_ew_dup_s8x4((*input)[0]));
        *input = repeated;
    }
    return 4 * step;
}

/* One run of `len` outputs; step1/step2 are 1 (the input advances) or 0 (it repeats).
 * The pointers are to the kernel's element type (int8 or int16). */
typedef void (*tc_ew_row_fn)(const void *params, const void *input1, int32_t step1,
                             const void *input2, int32_t step2, void *output, int32_t len);

#define TC_EW_DIMS 4

static inline int tc_ew_dim_ok(int32_t in, int32_t out)
{
    return in == out || in == 1;
}

/*
 * Walk output_dims calling row() on each contiguous run of elements of `element` bytes (1 or
 * 2, a constant in each caller). Returns TC_ARG_ERROR when a shape does not broadcast to
 * the output.
 */
static inline tc_status tc_ew_broadcast(const void *params, tc_ew_row_fn row,
                                        const tc_dims *input1_dims, const void *input1,
                                        const tc_dims *input2_dims, const void *input2,
                                        const tc_dims *output_dims, void *output,
                                        size_t element)
{
    if (params == NULL || input1_dims == NULL || input2_dims == NULL ||
        output_dims == NULL || input1 == NULL || input2 == NULL || output == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t out[TC_EW_DIMS] = {output_dims->n, output_dims->h, output_dims->w,
                                     output_dims->c};
    const int32_t in1[TC_EW_DIMS] = {input1_dims->n, input1_dims->h, input1_dims->w,
                                     input1_dims->c};
    const int32_t in2[TC_EW_DIMS] = {input2_dims->n, input2_dims->h, input2_dims->w,
                                     input2_dims->c};
    for (int d = 0; d < TC_EW_DIMS; ++d) {
        if (out[d] < 1 || !tc_ew_dim_ok(in1[d], out[d]) || !tc_ew_dim_ok(in2[d], out[d])) {
            TC_RETURN_ARG_ERROR();
        }
    }

    /* Dims of the walk, innermost first: size and each input's step in elements. */
    int32_t size[TC_EW_DIMS], step1[TC_EW_DIMS], step2[TC_EW_DIMS];
    int ndims = 0;
    int32_t stride1 = 1, stride2 = 1;
    for (int d = TC_EW_DIMS - 1; d >= 0; --d) {
        const int32_t s1 = in1[d] == 1 ? 0 : stride1;
        const int32_t s2 = in2[d] == 1 ? 0 : stride2;
        stride1 *= in1[d];
        stride2 *= in2[d];
        if (out[d] == 1) {
            continue; /* a dim of extent 1 moves nothing */
        }
        if (ndims > 0) {
            const int i = ndims - 1;
            /* Merge into the inner dim when both inputs continue its pattern. */
            if (s1 == step1[i] * size[i] && s2 == step2[i] * size[i]) {
                size[i] *= out[d];
                continue;
            }
        }
        size[ndims] = out[d];
        step1[ndims] = s1;
        step2[ndims] = s2;
        ++ndims;
    }
    if (ndims == 0) { /* a single element */
        size[0] = 1;
        step1[0] = 1;
        step2[0] = 1;
        ndims = 1;
    }

    /* Odometer over the outer dims; the innermost steps are 0 or 1 by construction. */
    int32_t index[TC_EW_DIMS] = {0, 0, 0, 0};
    const uint8_t *a = (const uint8_t *)input1;
    const uint8_t *b = (const uint8_t *)input2;
    uint8_t *y = (uint8_t *)output;
    for (;;) {
        row(params, a, step1[0], b, step2[0], y, size[0]);
        y += (size_t)size[0] * element;
        int d = 1;
        for (; d < ndims; ++d) {
            a += (ptrdiff_t)step1[d] * (ptrdiff_t)element;
            b += (ptrdiff_t)step2[d] * (ptrdiff_t)element;
            if (++index[d] < size[d]) {
                break;
            }
            a -= (ptrdiff_t)step1[d] * size[d] * (ptrdiff_t)element;
            b -= (ptrdiff_t)step2[d] * size[d] * (ptrdiff_t)element;
            index[d] = 0;
        }
        if (d == ndims) {
            return TC_OK;
        }
    }
}

#endif /* TC_ELEMENTWISE_INTERNAL_H */
