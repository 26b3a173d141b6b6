/* tinyconv kernels: slice, split, pack, gather, depth/space, broadcast, cast.
 *
 * These ops move elements without arithmetic, so their kernels are element-size generic:
 * an element is 1, 2, 4 or 8 bytes (int8, uint8, bool, int16, int32, float, int64), and
 * the tensors are passed as untyped pointers. CAST alone looks at the values. */
#ifndef TC_NN_SHAPE_H
#define TC_NN_SHAPE_H

#include <stdbool.h> /* bool tensors in generated code */

#include "tc_nn_types.h"

/* Dimensions of a strided copy (tinyconv's MAX_RANK: the IR has at most 6). */
#define TC_COPY_MAX_DIMS 6

/*
 * One strided copy: for every index (i0..i5) of `shape`,
 *   out[output_offset + sum(ik * output_stride[k])] = in[input_offset + sum(ik * input_stride[k])]
 * in elements of `element_size` bytes, output order outermost first. Strides may be
 * negative (a reversed slice) or 0 (a broadcast, or a new axis). STRIDED_SLICE, SLICE,
 * SPLIT, SPLIT_V, PACK, UNPACK, DEPTH_TO_SPACE, SPACE_TO_DEPTH and BROADCAST_TO are all
 * such copies (tinyconv/codegen/lowering/shape.py computes them).
 */
typedef struct {
    int32_t element_size;
    int32_t input_offset;
    int32_t output_offset;
    int32_t shape[TC_COPY_MAX_DIMS];
    int32_t input_stride[TC_COPY_MAX_DIMS];
    int32_t output_stride[TC_COPY_MAX_DIMS];
} tc_copy_params;

/*
 * `count` strided copies, copy k from inputs[k] to outputs[k] with params[k] (a split has
 * one per output, a pack one per input). Runs along the last dimension with both strides 1
 * are moved with memmove, so a copy may run in place when every element it writes is at or
 * before the one it reads (a slice with positive strides onto its own input).
 */
tc_status tc_strided_copy(const tc_copy_params *params, int32_t count,
                          const void *const *inputs, void *const *outputs);

/*
 * GATHER (TFLite's reference_ops::Gather): params seen as
 * [batch, outer, axis_size, inner], indices as [batch, coords];
 *   out[b][o][i][:] = params[b][o][indices[b][i]][:]
 * `index_size` 4: int32 indices, 8: int64. Every index is checked first: one outside
 * [0, axis_size) returns TC_ARG_ERROR with nothing written (LiteRT's invoke fails there);
 * this check stays in every build, the indices being data.
 */
typedef struct {
    int32_t element_size;
    int32_t index_size;
    int32_t batch_size;
    int32_t outer_size;
    int32_t axis_size;
    int32_t inner_size; /* elements */
    int32_t coord_size; /* indices per batch */
} tc_gather_params;

tc_status tc_gather(const tc_gather_params *params, const void *input, const void *indices,
                    void *output);

/* Element types of CAST. */
typedef enum {
    TC_TYPE_INT8 = 0,
    TC_TYPE_UINT8 = 1,
    TC_TYPE_INT16 = 2,
    TC_TYPE_INT32 = 3,
    TC_TYPE_INT64 = 4,
    TC_TYPE_FLOAT32 = 5,
    TC_TYPE_BOOL = 6,
} tc_type;

typedef struct {
    int32_t input_type;  /* tc_type */
    int32_t output_type; /* tc_type */
} tc_cast_params;

/*
 * CAST (LiteRT's cast.cc): integers wrap to a narrower type; anything to bool is (x != 0);
 * bool is 0 or 1; integers to float round to nearest even; float to an integer type
 * truncates toward zero and saturates to its range, NaN giving its maximum. May run in
 * place: forward when the output element is no wider than the input's, else backward.
 */
tc_status tc_cast(const tc_cast_params *params, int32_t size, const void *input, void *output);

#endif /* TC_NN_SHAPE_H */
