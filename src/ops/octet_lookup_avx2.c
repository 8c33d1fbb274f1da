/* AVX2 loop of the 256-entry byte table (octet_lookup.c has the scalar one): vpshufb looks up the low
 * nibble in each of the sixteen 16-byte rows of the table, then four levels of vpblendvb pick the row
 * by the high nibble's bits (each moved to bit 7 of its byte by a 16-bit shift: bits do not cross into
 * the neighbouring byte's bit 7). A ragged tail goes through the same code on a padded copy. */
#include <immintrin.h>
#include <string.h>

#include "ops/octet_lookup.h"

static inline __m256i lut32(const __m256i *row, __m256i b) {
    const __m256i lo = _mm256_and_si256(b, _mm256_set1_epi8(0x0f));
    const __m256i b4 = _mm256_slli_epi16(b, 3), b5 = _mm256_slli_epi16(b, 2), b6 = _mm256_slli_epi16(b, 1);
    __m256i r[8];
    for (int j = 0; j < 8; j++)
        r[j] = _mm256_blendv_epi8(_mm256_shuffle_epi8(row[2 * j], lo), _mm256_shuffle_epi8(row[2 * j + 1], lo), b4);
    for (int j = 0; j < 4; j++) r[j] = _mm256_blendv_epi8(r[2 * j], r[2 * j + 1], b5);
    for (int j = 0; j < 2; j++) r[j] = _mm256_blendv_epi8(r[2 * j], r[2 * j + 1], b6);
    return _mm256_blendv_epi8(r[0], r[1], b);
}

void ot_lut8_avx2(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n) {
    __m256i row[16];
    for (int j = 0; j < 16; j++) row[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(table + 16 * j)));
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(x + i)), b = _mm256_loadu_si256((const __m256i *)(x + i + 32));
        _mm256_storeu_si256((__m256i *)(y + i), lut32(row, a));
        _mm256_storeu_si256((__m256i *)(y + i + 32), lut32(row, b));
    }
    for (; i + 32 <= n; i += 32)
        _mm256_storeu_si256((__m256i *)(y + i), lut32(row, _mm256_loadu_si256((const __m256i *)(x + i))));
    if (i < n) {
        uint8_t buf[32] = {0};
        memcpy(buf, x + i, n - i);
        _mm256_storeu_si256((__m256i *)buf, lut32(row, _mm256_loadu_si256((const __m256i *)buf)));
        memcpy(y + i, buf, n - i);
    }
}
