#include "model.h"

#include <string.h>

extern const uint8_t tc_passthrough_xor[4];

static uint8_t tc_arena[TC_MODEL_ARENA_BYTES] __attribute__((aligned(16)));

/* Arena layout: input 0 (300 B) @0, input 1 (20 B) @304, output 0 (300 B) @336,
 * output 1 (20 B) @640, scratch (256 B) @672; 1040 B in all with padding. */
#define IN0_OFFSET 0
#define IN0_BYTES 300
#define IN1_OFFSET 304
#define IN1_BYTES 20
#define OUT0_OFFSET 336
#define OUT1_OFFSET 640
#define SCRATCH_OFFSET 672
#define SCRATCH_BYTES 256

/* A callee with a stack frame of its own, so the stack high-water mark moves. */
static __attribute__((noinline)) void tc_transform(const uint8_t *in, uint8_t *out, size_t n)
{
    uint8_t staged[128];
    for (size_t done = 0; done < n; done += sizeof staged) {
        const size_t chunk = n - done < sizeof staged ? n - done : sizeof staged;
        memcpy(staged, in + done, chunk);
        for (size_t i = 0; i < chunk; i++) {
            staged[i] ^= tc_passthrough_xor[(done + i) % 4];
        }
        memcpy(out + done, staged, chunk);
    }
}

int tc_model_invoke(void)
{
    uint8_t *scratch = tc_arena + SCRATCH_OFFSET;
    memset(scratch, 0, SCRATCH_BYTES);
    tc_transform(tc_arena + IN0_OFFSET, tc_arena + OUT0_OFFSET, IN0_BYTES);
    for (size_t i = 0; i < IN1_BYTES; i++) {
        tc_arena[OUT1_OFFSET + i] = (uint8_t)(tc_arena[IN1_OFFSET + i] + 1u);
    }
    return 0;
}

void *tc_model_input(int index)
{
    return index == 0 ? tc_arena + IN0_OFFSET : index == 1 ? tc_arena + IN1_OFFSET : NULL;
}

size_t tc_model_input_bytes(int index)
{
    return index == 0 ? IN0_BYTES : index == 1 ? IN1_BYTES : 0;
}

void *tc_model_output(int index)
{
    return index == 0 ? tc_arena + OUT0_OFFSET : index == 1 ? tc_arena + OUT1_OFFSET : NULL;
}

size_t tc_model_output_bytes(int index)
{
    return index == 0 ? IN0_BYTES : index == 1 ? IN1_BYTES : 0;
}
