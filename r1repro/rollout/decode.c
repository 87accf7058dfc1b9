/* The sampling loop's decode step in C where PyTorch spends its time between matrix multiplies (float32,
   CPU), for r1repro.rollout.loop.native_decode_step: attention over each row's keys and values in one
   pass (what decode_attention computes with two batched products and a softmax), for rows whose cache is
   their prompt's keys/values (kept once, shared by the prompt's rows) followed by their own tokens'; and
   the step's small operations, each one call (a residual add with the next RMSNorm, SiLU x up, q/k/v's
   biases with RoPE and the cache writes). Built at first use by r1repro.native (cc -O3 -march=native
   -fopenmp); GCC's vector extensions, so the same code runs on AVX2 and AVX-512.

   Why: the batched products run one small product per row and head (3 queries x 64 against ~100 keys
   for SmolLM2-135M) and read the prompt's keys once per row; here each row and head is one task, its
   scores, softmax and weighted values in registers, the prompt's keys read from the CPU's cache for the
   prompt's other rows: 128 rows, 74 + 40 positions, 2 Xeon threads 0.32 ms against 0.69-0.96; while a
   task reads its row's own keys/values it prefetches the next task's (attention 18.2 -> 16.0 ms a step
   at 128 rows, the sampling loop +2.2%: docs/benchmarks.md). The
   small operations were ~40 PyTorch calls a layer (plus the column blocks' reassembly), now 4. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef float v8 __attribute__((vector_size(32), aligned(4))); /* 8 floats, unaligned loads */
typedef int v8i __attribute__((vector_size(32)));

static inline float hsum(v8 x)
{
    x += __builtin_shuffle(x, (v8i){4, 5, 6, 7, 0, 1, 2, 3});
    x += __builtin_shuffle(x, (v8i){2, 3, 0, 1, 6, 7, 4, 5});
    x += __builtin_shuffle(x, (v8i){1, 0, 3, 2, 5, 4, 7, 6});
    return x[0];
}

/* per lane: a where the mask (a comparison's -1 / 0 lanes) is set, else b */
static inline v8 blend(v8i mask, v8 a, v8 b) { return (v8)(((v8i)a & mask) | ((v8i)b & ~mask)); }

/* exp(x) for x <= 0 (scores less their maximum), 8 at a time: 2^n exp(f) with n = round(x / ln2),
   |f| <= ln2 / 2, Cephes' expf polynomial (~1 ulp); 0 below -87 (and for -inf, the padding). */
static inline v8 exp_nonpositive(v8 x)
{
    const v8i low = x < -87.0f;
    const v8 xc = blend(low, (v8){0} - 87.0f, x);
    const v8i n = __builtin_convertvector(xc * 1.44269504088896341f - 0.5f, v8i);  /* rounds: x <= 0 */
    const v8 nf = __builtin_convertvector(n, v8);
    const v8 f = xc - nf * 0.693359375f + nf * 2.12194440e-4f;
    v8 p = f * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * f + 8.3334519073e-3f;
    p = p * f + 4.1665795894e-2f;
    p = p * f + 1.6666665459e-1f;
    p = p * f + 5.0000001201e-1f;
    p = p * f * f + f + 1.0f;
    const v8 y = p * (v8)((n + 127) << 23);
    return blend(low, (v8){0}, y);
}

static inline float hmax(v8 x)
{
    float m = x[0];
    for (int i = 1; i < 8; i++) m = x[i] > m ? x[i] : m;
    return m;
}

#define MAX_G 8   /* query heads a key/value head */
#define MAX_C 16  /* head dimension / 8 */

/* x = one key's or value's D floats at p, in vectors; pf (NULL: none): the same position of the next
   task's, prefetched */
static inline __attribute__((always_inline)) void load_row(v8 *x, const float *p, const long D, const float *pf)
{
    if (pf)
        for (long c = 0; c < D; c += 16) __builtin_prefetch(pf + c);
    for (long c = 0; c < D / 8; c++) x[c] = *(const v8 *)(p + 8 * c);
}

/* scores s[j * L + i] (i from i0) of the g queries qv against n keys k (rows of D floats) */
static inline __attribute__((always_inline)) void score(const v8 (*qv)[MAX_C], const float *k, long n, long i0,
                                                        long g, const long D, long L, float *s, const float *pf)
{
    for (long i = 0; i < n; i++, k += D) {
        v8 kc[MAX_C];
        load_row(kc, k, D, pf ? pf + i * D : 0);
        for (long j = 0; j < g; j++) {
            v8 a0 = qv[j][0] * kc[0], a1 = qv[j][1] * kc[1];
            for (long c = 2; c < D / 8; c += 2) { a0 += qv[j][c] * kc[c]; a1 += qv[j][c + 1] * kc[c + 1]; }
            s[j * L + i0 + i] = hsum(a0 + a1);
        }
    }
}

/* o[j] += sum over the n values v of s[j * L + i0 + i] v_i */
static inline __attribute__((always_inline)) void accumulate(v8 (*o)[MAX_C], const float *v, long n, long i0,
                                                             long g, const long D, long L, const float *s,
                                                             const float *pf)
{
    for (long i = 0; i < n; i++, v += D) {
        v8 vc[MAX_C];
        load_row(vc, v, D, pf ? pf + i * D : 0);
        for (long j = 0; j < g; j++) {
            const float w = s[j * L + i0 + i];
            for (long c = 0; c < D / 8; c++) o[j][c] += w * vc[c];
        }
    }
}

/* One row r and key/value head h (task t): see r1_attention. Inlined with D a constant (64,
   128) so the head's dimension is unrolled into vector registers. */
static inline __attribute__((always_inline)) void attend(
    long t, const float *q, const float *kp, const float *vp, const float *bias, const float *ks, const float *vs,
    long ks_row, long ks_head, long vs_row, long vs_head, const int64_t *src, float *out, long Hkv, long g,
    const long D, long P, long G, float scale, float *s, long last)
{
    const long L = (P + G + 7) / 8 * 8, r = t / Hkv, h = t % Hkv, u = src[r];  /* L: a row of s, padded */
    const float *qt = q + t * g * D;
    v8 qv[MAX_G][MAX_C], o[MAX_G][MAX_C];
    for (long j = 0; j < g; j++)
        for (long c = 0; c < D / 8; c++) { qv[j][c] = *(const v8 *)(qt + j * D + 8 * c) * scale; o[j][c] = (v8){0}; }
    const long rn = (t + 1) / Hkv, hn = (t + 1) % Hkv;  /* the next task's own keys/values, fetched meanwhile */
    const int more = t + 1 < last;
    score(qv, kp + (u * Hkv + h) * P * D, P, 0, g, D, L, s, 0);
    score(qv, ks + r * ks_row + h * ks_head, G, P, g, D, L, s, more ? ks + rn * ks_row + hn * ks_head : 0);
    float inv[MAX_G];
    for (long j = 0; j < g; j++) {
        float *sj = s + j * L;
        if (bias)
            for (long i = 0; i < P; i++) sj[i] += bias[u * P + i];
        for (long i = P + G; i < L; i++) sj[i] = -INFINITY;
        v8 m = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY}, sum = {0};
        for (long i = 0; i < L; i += 8) { const v8 x = *(v8 *)(sj + i); m = blend(x > m, x, m); }
        const float mx = hmax(m);
        for (long i = 0; i < L; i += 8) {
            const v8 e = exp_nonpositive(*(v8 *)(sj + i) - mx);
            *(v8 *)(sj + i) = e;
            sum += e;
        }
        inv[j] = 1.0f / hsum(sum);
    }
    accumulate(o, vp + (u * Hkv + h) * P * D, P, 0, g, D, L, s, 0);
    accumulate(o, vs + r * vs_row + h * vs_head, G, P, g, D, L, s, more ? vs + rn * vs_row + hn * vs_head : 0);
    float *ot = out + t * g * D;
    for (long j = 0; j < g; j++)
        for (long c = 0; c < D / 8; c++) *(v8 *)(ot + j * D + 8 * c) = o[j][c] * inv[j];
}

/* out (R, Hkv, g, D) = softmax(q k^T scale + bias) v for each row r and key/value head h, its g query
   heads q (R, Hkv, g, D) at once, over P + G positions: row r's prompt src[r]'s P keys/values
   kp/vp (U, Hkv, P, D), with bias (U, P) added (NULL: none; -inf on left padding), then the row's G
   own, ks/vs (R, Hkv, >= G, D) with the given row and head strides. Rows run in parallel on OpenMP
   (torch's runtime: the library needs libgomp.so.1, which torch has loaded). */
void r1_attention(const float *q, const float *kp, const float *vp, const float *bias,
                         const float *ks, const float *vs, long ks_row, long ks_head, long vs_row, long vs_head,
                         const int64_t *src, float *out, long R, long Hkv, long g, long D, long P, long G, float scale)
{
    #pragma omp parallel
    {
        float *s = malloc(sizeof(float) * g * ((P + G + 7) / 8 * 8)); /* one row and head's scores, then weights */
        #pragma omp for schedule(static)
        for (long t = 0; t < R * Hkv; t++) {
#define ATTEND(dim) attend(t, q, kp, vp, bias, ks, vs, ks_row, ks_head, vs_row, vs_head, src, out, Hkv, g, dim, P, G, scale, s, R * Hkv)
            if (D == 64)
                ATTEND(64);
            else if (D == 32)
                ATTEND(32);
            else  /* D == 128 (the Python side checks) */
                ATTEND(128);
#undef ATTEND
        }
        free(s);
    }
}

/* ------------------------------------------------------------------ the decode step's other operations
   Linear layers' outputs arrive as r1repro.kernels' column blocks, (P, R, n): column c of the (R, P n)
   result is block c / n's column c % n (P = 1: the plain (R, N) result). Rows run in parallel. */

/* x[0 : D) = row r's columns c0 .. c0 + D of column blocks y (P, R, n), plus bias[c0 ...] (NULL: none);
   the columns lie in one block or across two */
static inline void gather_columns(const float *y, long R, long n, long r, long c0, long D, const float *bias, float *x)
{
    long d = 0;
    while (d < D) {
        const long c = c0 + d, b = c / n, off = c % n, len = (n - off < D - d) ? n - off : D - d;
        const float *src = y + (b * R + r) * n + off;
        #pragma omp simd
        for (long i = 0; i < len; i++) x[d + i] = src[i] + (bias ? bias[c + i] : 0.0f);
        d += len;
    }
}

/* h (R, C) += y (column blocks; NULL: nothing added), then x = w * (h * rsqrt(mean(h^2) + eps)): a
   residual add and the next RMSNorm (LlamaRMSNorm's order of operations, in float32). */
void r1_add_rmsnorm(float *h, const float *y, long P, long n, const float *w, float eps, float *x, long R, long C)
{
    #pragma omp parallel for schedule(static)
    for (long r = 0; r < R; r++) {
        float *hr = h + r * C, *xr = x + r * C;
        if (y)
            for (long b = 0; b < P; b++) {
                const float *yb = y + (b * R + r) * n;
                #pragma omp simd
                for (long c = 0; c < n; c++) hr[b * n + c] += yb[c];
            }
        float ss = 0.0f;
        #pragma omp simd reduction(+:ss)
        for (long c = 0; c < C; c++) ss += hr[c] * hr[c];
        const float inv = 1.0f / sqrtf(ss / (float)C + eps);
        #pragma omp simd
        for (long c = 0; c < C; c++) xr[c] = w[c] * (hr[c] * inv);
    }
}

/* out (R, P n) = silu(gate) * up, gate and up in column blocks (P, R, n): the MLP's activation. */
void r1_silu_mul(const float *gate, const float *up, long P, long n, float *out, long R)
{
    #pragma omp parallel for schedule(static)
    for (long r = 0; r < R; r++)
        for (long b = 0; b < P; b++) {
            const float *g = gate + (b * R + r) * n, *u = up + (b * R + r) * n;
            float *o = out + r * P * n + b * n;
            long c = 0;
            for (; c + 8 <= n; c += 8) {
                const v8 x = *(const v8 *)(g + c);
                const v8i neg = x < 0.0f;
                const v8 e = exp_nonpositive(blend(neg, x, -x));  /* exp(-|x|) */
                const v8 sig = blend(neg, e, (v8){0} + 1.0f) / (e + 1.0f);  /* 1 / (1 + exp(-x)) */
                *(v8 *)(o + c) = x * sig * *(const v8 *)(u + c);
            }
            for (; c < n; c++) o[c] = g[c] / (1.0f + expf(-g[c])) * u[c];
        }
}

/* One decode step's q, k, v (column blocks (P, R, nq) / (P, R, nk) / (P, R, nk), block widths nq and
   nk; before their biases bq / bk / bv, NULL: none) into attention's layout: q (R, H, D) and k rotated
   by RoPE (x cos + rotate_half(x) sin, cos / sin (R, D) per row), q to q_out, k and v to the cache at
   this step's position (kc / vc: row r, head h at kc + r * c_row + h * c_head). */
void r1_qkv_rope(const float *q, const float *k, const float *v, long nq, long nk,
                 const float *bq, const float *bk, const float *bv, const float *cos, const float *sin,
                 float *q_out, float *kc, float *vc, long c_row, long c_head, long R, long H, long Hkv, long D)
{
    const long half = D / 2;
    #pragma omp parallel for schedule(static)
    for (long r = 0; r < R; r++) {
        const float *cr = cos + r * D, *sr = sin + r * D;
        for (long h = 0; h < H + 2 * Hkv; h++) {
            const int is_q = h < H, is_k = !is_q && h < H + Hkv;
            const long head = is_q ? h : is_k ? h - H : h - H - Hkv;
            const float *y = is_q ? q : is_k ? k : v, *bias = is_q ? bq : is_k ? bk : bv;
            const long n = is_q ? nq : nk;
            float x[256];
            gather_columns(y, R, n, r, head * D, D, bias, x);
            float *o = is_q ? q_out + (r * H + head) * D : (is_k ? kc : vc) + r * c_row + head * c_head;
            if (!is_q && !is_k) {
                for (long d = 0; d < D; d++) o[d] = x[d];
                continue;
            }
            for (long d = 0; d < half; d++) o[d] = x[d] * cr[d] - x[d + half] * sr[d];
            for (long d = half; d < D; d++) o[d] = x[d] * cr[d] + x[d - half] * sr[d];
        }
    }
}
