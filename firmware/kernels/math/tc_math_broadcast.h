/*
 * Private to the math kernels: the N-d broadcasting walk they share.
 *
 * The output's dims are walked as contiguous runs ("rows"). Along each dim an input either
 * advances with the output or stays put (its extent is 1). Dims of extent 1 are dropped,
 * and adjacent dims where every input behaves alike are merged, so equal shapes become one
 * run of the whole tensor, [N,H,W,C] x [C] becomes N*H*W runs of C against the same C
 * values, and a scalar operand one run with a repeated value. The row function handles
 * one run, each input's step being 1 (advancing) or 0 (repeated). Runs are visited in
 * increasing output address order, and a row function reads the inputs of an index
 * before it writes that output element (in place safe).
 */
#ifndef TC_MATH_BROADCAST_H
#define TC_MATH_BROADCAST_H

#include <stdint.h>

#include "tc_nn_math.h"

#define TC_BC_MAX_INPUTS 3

/* Always inlined, and every caller passes a constant row function: the call through
 * `row` becomes a direct call, which the static stack bound (tinyconv/stack.py) needs. */
#define TC_BC_INLINE static inline __attribute__((always_inline))

/* One run of `len` outputs: in[k] + j * step[k] elements is input k's element j. */
typedef void (*tc_bc_row_fn)(const void *params, const void *const *in, const int32_t *step,
                             void *out, int32_t len);

/*
 * Walk output_dims calling row() on each run. `in_bytes` / `out_bytes`: element sizes.
 * TC_ARG_ERROR when a shape does not broadcast to the output or a pointer is NULL.
 */
TC_BC_INLINE tc_status tc_bc_walk(const void *params, tc_bc_row_fn row, int32_t n_in,
                                   const tc_nd_dims *const *in_dims, const void *const *in,
                              const int32_t *in_bytes, const tc_nd_dims *out_dims,
                              void *out, int32_t out_bytes)
{
    if (row == NULL || out_dims == NULL || out == NULL || n_in < 1 ||
        n_in > TC_BC_MAX_INPUTS) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t k = 0; k < n_in; ++k) {
        if (in_dims[k] == NULL || in[k] == NULL) {
            TC_RETURN_ARG_ERROR();
        }
        for (int d = 0; d < TC_MATH_MAX_RANK; ++d) {
            const int32_t e = in_dims[k]->d[d];
            if (e != 1 && e != out_dims->d[d]) {
                TC_RETURN_ARG_ERROR();
            }
        }
    }
    for (int d = 0; d < TC_MATH_MAX_RANK; ++d) {
        if (out_dims->d[d] < 1) {
            TC_RETURN_ARG_ERROR();
        }
    }

    /* Walk dims, innermost first: extent and each input's step in elements. */
    int32_t size[TC_MATH_MAX_RANK];
    int32_t step[TC_MATH_MAX_RANK][TC_BC_MAX_INPUTS];
    int32_t stride[TC_BC_MAX_INPUTS] = {1, 1, 1};
    int ndims = 0;
    for (int d = TC_MATH_MAX_RANK - 1; d >= 0; --d) {
        int32_t s[TC_BC_MAX_INPUTS] = {0, 0, 0};
        for (int32_t k = 0; k < n_in; ++k) {
            s[k] = in_dims[k]->d[d] == 1 ? 0 : stride[k];
            stride[k] *= in_dims[k]->d[d];
        }
        if (out_dims->d[d] == 1) {
            continue; /* moves nothing */
        }
        if (ndims > 0) {
            const int i = ndims - 1;
            int merge = 1;
            for (int32_t k = 0; k < n_in; ++k) {
                merge &= s[k] == step[i][k] * size[i];
            }
            if (merge) {
                size[i] *= out_dims->d[d];
                continue;
            }
        }
        size[ndims] = out_dims->d[d];
        for (int32_t k = 0; k < n_in; ++k) {
            step[ndims][k] = s[k];
        }
        ++ndims;
    }
    if (ndims == 0) { /* a single element */
        size[0] = 1;
        for (int32_t k = 0; k < n_in; ++k) {
            step[0][k] = 0;
        }
        ndims = 1;
    }

    /* The innermost walk dim is the run (its steps are 0 or 1); odometer over the rest. */
    const int32_t len = size[0];
    int32_t inner[TC_BC_MAX_INPUTS] = {0, 0, 0};
    for (int32_t k = 0; k < n_in; ++k) {
        inner[k] = step[0][k];
    }
    int32_t count[TC_MATH_MAX_RANK] = {0};
    int32_t offset[TC_BC_MAX_INPUTS] = {0, 0, 0};
    uint8_t *o = (uint8_t *)out;
    for (;;) {
        const void *p[TC_BC_MAX_INPUTS] = {NULL, NULL, NULL};
        for (int32_t k = 0; k < n_in; ++k) {
            p[k] = (const uint8_t *)in[k] + (intptr_t)offset[k] * in_bytes[k];
        }
        row(params, p, inner, o, len);
        o += (intptr_t)len * out_bytes;
        int d = 1;
        for (; d < ndims; ++d) {
            ++count[d];
            for (int32_t k = 0; k < n_in; ++k) {
                offset[k] += step[d][k];
            }
            if (count[d] < size[d]) {
                break;
            }
            for (int32_t k = 0; k < n_in; ++k) {
                offset[k] -= step[d][k] * size[d];
            }
            count[d] = 0;
        }
        if (d >= ndims) {
            break;
        }
    }
    return TC_OK;
}

/* Two-input convenience form. */
TC_BC_INLINE tc_status tc_bc_walk2(const void *params, tc_bc_row_fn row,
                                    const tc_nd_dims *dims1, const void *in1,
                                    const tc_nd_dims *dims2, const void *in2,
                                    int32_t in_bytes, const tc_nd_dims *out_dims, void *out,
                                    int32_t out_bytes)
{
    const tc_nd_dims *const dims[2] = {dims1, dims2};
    const void *const ptrs[2] = {in1, in2};
    const int32_t bytes[2] = {in_bytes, in_bytes};
    return tc_bc_walk(params, row, 2, dims, ptrs, bytes, out_dims, out, out_bytes);
}

#endif /* TC_MATH_BROADCAST_H */
