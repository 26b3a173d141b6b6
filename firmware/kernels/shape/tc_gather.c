/*
 * GATHER, any element size, int32 or int64 indices: TFLite's reference_ops::Gather.
 *
 * params = [batch][outer][axis_size][inner], indices = [batch][coord]:
 *   output[b][o][c][:] = params[b][o][indices[b][c]][:]   (inner elements per copy)
 * LiteRT's Eval refuses negative indices and its Gather one past the axis: an index
 * outside [0, axis_size) makes this kernel return TC_ARG_ERROR before it writes anything
 * (the indices are data, so this check is not an argument check and stays in every build).
 * Indices are read with memcpy: int64 ones sit on 4-byte boundaries in the arena.
 */
#include <string.h>

#include "tc_nn_shape.h"

static inline int64_t index_at(const uint8_t *indices, int32_t index_size, int32_t i)
{
    if (index_size == 8) {
        int64_t v;
        memcpy(&v, indices + (size_t)i * 8, 8);
        return v;
    }
    int32_t v;
    memcpy(&v, indices + (size_t)i * 4, 4);
    return v;
}

tc_status tc_gather(const tc_gather_params *params, const void *input, const void *indices,
                    void *output)
{
    const int32_t size = params->element_size;
    const int32_t index_size = params->index_size;
    if ((size != 1 && size != 2 && size != 4 && size != 8) ||
        (index_size != 4 && index_size != 8)) {
        TC_RETURN_ARG_ERROR();
    }
    const uint8_t *idx = (const uint8_t *)indices;
    const int32_t total = params->batch_size * params->coord_size;
    for (int32_t i = 0; i < total; ++i) {
        const int64_t at = index_at(idx, index_size, i);
        if (at < 0 || at >= params->axis_size) {
            return TC_ARG_ERROR;
        }
    }
    const size_t run = (size_t)params->inner_size * (size_t)size;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    for (int32_t b = 0; b < params->batch_size; ++b) {
        for (int32_t o = 0; o < params->outer_size; ++o) {
            const uint8_t *block =
                in + ((size_t)b * params->outer_size + (size_t)o) * params->axis_size * run;
            for (int32_t c = 0; c < params->coord_size; ++c) {
                const int64_t at = index_at(idx, index_size, b * params->coord_size + c);
                memcpy(out, block + (size_t)at * run, run);
                out += run;
            }
        }
    }
    return TC_OK;
}
