/*
 * The broadcast walk of tc_add_s8_ort and tc_mul_s8_ort (private): the output's elements
 * in order, and the index each input reads for it (tc_ort_broadcast, tc_nn_onnxrt.h).
 */
#ifndef TC_ORT_BROADCAST_H
#define TC_ORT_BROADCAST_H

#include "tc_nn_onnxrt.h"

typedef struct {
    int32_t index[4];
    int32_t at1; /* element of input1 */
    int32_t at2; /* element of input2 */
} tc_ort_walk;

static inline void tc_ort_walk_start(tc_ort_walk *w)
{
    w->index[0] = w->index[1] = w->index[2] = w->index[3] = 0;
    w->at1 = w->at2 = 0;
}

/* The next output element: the innermost axis steps, carrying outwards. */
static inline void tc_ort_walk_next(tc_ort_walk *w, const tc_ort_broadcast *b)
{
    for (int32_t k = 3; k >= 0; k--) {
        w->at1 += b->stride1[k];
        w->at2 += b->stride2[k];
        if (++w->index[k] < b->dims[k]) {
            return;
        }
        w->at1 -= b->stride1[k] * b->dims[k];
        w->at2 -= b->stride2[k] * b->dims[k];
        w->index[k] = 0;
    }
}

#endif /* TC_ORT_BROADCAST_H */
