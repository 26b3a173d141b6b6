/* The measured region on the host: the same markers as boards/common/bench.S, in C (no
 * instruction counting here, but the app's call structure stays the same). */
#include "model.h"
#include "tc_platform.h"

__attribute__((noinline)) void tc_bench_begin(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void tc_bench_end(void)
{
    __asm__ volatile("" ::: "memory");
}

int tc_bench_invoke(void)
{
    tc_bench_begin();
    const int status = tc_model_invoke();
    tc_bench_end();
    return status;
}
