/* Growable arrays: the one allocation helper every layer shares. */
#ifndef VKR_ARRAY_H
#define VKR_ARRAY_H
#include <stddef.h>
#include <stdint.h>

#include "vkr_status.h"

/* Grows *ptr (an array of `elem`-byte entries with capacity *cap) to hold at least `need` entries,
 * doubling; new entries are zeroed. On failure *ptr and *cap are unchanged. */
vkr_status vkr_grow(void** ptr, uint32_t* cap, uint32_t need, size_t elem);

#endif
