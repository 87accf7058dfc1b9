/* Float32 y = x W^T for frozen weights (r1repro.kernels.frozen_linears: the sampling loop's linear layers on
   CPUs with AVX-512 where MKL is the backend), from a copy of W in panels of PANEL columns.

   Layout: W (N, K) is copied as N / PANEL panels (the last one narrower when PANEL does not divide N; N
   a multiple of 16), panel j = W[j PANEL : (j+1) PANEL]^T, a contiguous (K, width) array, panel j + 1 right
   after panel j. y (M, N) row-major, x (M, K) row-major.

   How: each thread takes a contiguous run of panels. A panel is multiplied by 8 rows of x at a time in
   registers (8 rows x 3 vectors of 16 columns: 24 accumulators, each x value broadcast once into a
   register for 3 FMAs). The first 8 rows stream the panel from memory, prefetching 32 rows of K ahead;
   the later row blocks, which read the panel from L2, prefetch the thread's next panel into L2 meanwhile
   (one line every few FMAs), so the weights' memory traffic runs under the arithmetic instead of before it.

   Why: at the sampling loop's shapes (1-128 rows, SmolLM2-135M's 576 x 192 ... 49,152 weights) MKL's
   sgemm ran far from both limits, as if streaming the weights and the arithmetic took turns (8-16 rows:
   28-31 ms a decode step where streaming the 540 MB takes 16). On 2 Xeon threads (family 6 model 207)
   the model's 211 products a decode step took MKL 1.1-1.6x this kernel's time at 1-96 rows and 1.1x at
   128 (docs/benchmarks.md); cache-resident, this kernel runs at the FMA units' peak.
   Each y[r, n] is one chain of FMAs over k in order, whatever the rows and threads: a row's product does
   not depend on the batch it is in.

   Built at first use by r1repro.native (cc -O3 -march=native -fopenmp). Without AVX-512 it has no
   kernel (r1_linear_panel() is 0) and MKL runs. */
#include <omp.h>

#if defined(__AVX512F__)
#include <immintrin.h>

#define VW 16           /* floats a vector */
#define MR 8            /* rows of x a tile */
#define NV 3            /* vectors a panel's row */
#define PANEL (NV * VW) /* 48 columns */
#define AHEAD 32        /* the first row block prefetches this many rows of K ahead */

typedef float vf __attribute__((vector_size(VW * 4), aligned(4)));

/* y[0:mr, 0:nv VW] = x[0:mr, :] @ w (K, nv VW), x rows ldx apart, y rows ldy apart. mode 1: prefetch w
   AHEAD rows ahead (into L1); else, when next is set, prefetch next + k step (into L2) each k. */
static inline __attribute__((always_inline)) void tile(const float *x, long ldx, const float *w, long K, float *y,
                                                       long ldy, int mr, int nv, int mode, const char *next, long step)
{
    vf acc[MR][NV];
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        #pragma GCC unroll 3
        for (int j = 0; j < nv; j++) acc[r][j] = (vf){0};
    for (long k = 0; k < K; k++) {
        vf b[NV];
        #pragma GCC unroll 3
        for (int j = 0; j < nv; j++) b[j] = *(const vf *)(w + k * nv * VW + j * VW);
        if (mode == 1) {
            #pragma GCC unroll 3
            for (int j = 0; j < nv; j++) __builtin_prefetch(w + (k + AHEAD) * nv * VW + j * VW, 0, 3);
        } else if (next) {
            __builtin_prefetch(next + k * step, 0, 2);
        }
        #pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            vf a = (vf)_mm512_set1_ps(x[r * ldx + k]);
            __asm__("" : "+v"(a)); /* one broadcast into a register, not one per FMA from memory */
            #pragma GCC unroll 3
            for (int j = 0; j < nv; j++) acc[r][j] += a * b[j];
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        #pragma GCC unroll 3
        for (int j = 0; j < nv; j++) *(vf *)(y + r * ldy + j * VW) = acc[r][j];
}

/* row block i >= 1 of rb prefetches its share of the next panel: from (i - 1) K step bytes on, step a k */
#define NEXT(r) (next && (r) ? (const char *)next + ((r) / MR - 1) * K * step : 0)
#define TILE(rows, mode) tile(x + r * K, K, w, K, y + r * N, N, rows, nv, mode, NEXT(r), step)
#define PANEL_ROWS(nv)                                                                                       \
    do {                                                                                                     \
        if (M >= MR) { TILE(MR, 1); r = MR; }                                                                \
        for (; r + MR <= M; r += MR) TILE(MR, 0);                                                            \
        switch (M - r) {                                                                                     \
        case 1: TILE(1, r == 0); break;                                                                      \
        case 2: TILE(2, r == 0); break;                                                                      \
        case 3: TILE(3, r == 0); break;                                                                      \
        case 4: TILE(4, r == 0); break;                                                                      \
        case 5: TILE(5, r == 0); break;                                                                      \
        case 6: TILE(6, r == 0); break;                                                                      \
        case 7: TILE(7, r == 0); break;                                                                      \
        }                                                                                                    \
    } while (0)

/* y[:, 0:width] = x @ panel w (K, width); next (the thread's next panel, next_bytes long) or NULL */
static void panel(const float *x, long M, long K, const float *w, int nv, long N, float *y, const float *next,
                  long next_bytes)
{
    const long rb = (M + MR - 1) / MR;
    const long step = rb > 1 && next ? (next_bytes + (rb - 1) * K - 1) / ((rb - 1) * K) : 0;
    long r = 0;
    if (nv == 3) PANEL_ROWS(3);
    else if (nv == 2) PANEL_ROWS(2);
    else PANEL_ROWS(1);
}

/* y (M, N) = x (M, K) @ W^T, W as panels (see the top); N a multiple of 16 */
void r1_linear(const float *x, long M, long K, const float *w, long N, float *y)
{
    const long panels = (N + PANEL - 1) / PANEL;
    if (M <= 0) return;
    #pragma omp parallel
    {
        const long t = omp_get_thread_num(), T = omp_get_num_threads();
        const long lo = panels * t / T, hi = panels * (t + 1) / T;
        for (long j = lo; j < hi; j++) {
            const long n0 = j * PANEL, width = N - n0 < PANEL ? N - n0 : PANEL;
            const long n1 = n0 + PANEL, next = N - n1 < PANEL ? N - n1 : PANEL;
            panel(x, M, K, w + n0 * K, (int)(width / VW), N, y + n0, j + 1 < hi ? w + n1 * K : 0, 4 * K * next);
        }
    }
}

long r1_linear_panel(void) { return PANEL; }
long r1_linear_vector(void) { return VW; }

#else
void r1_linear(const float *x, long M, long K, const float *w, long N, float *y) {}
long r1_linear_panel(void) { return 0; }
long r1_linear_vector(void) { return 0; }
#endif
