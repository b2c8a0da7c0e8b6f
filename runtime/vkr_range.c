#include "vkr_range.h"

vkr_range vkr_range_whole(const vkr_buffer* buffer) { return (vkr_range){buffer, 0, VKR_WHOLE_SIZE}; }

VkDeviceSize vkr_range_bytes(vkr_range r) {
    if (!r.buffer || r.offset > r.buffer->size) return 0;
    VkDeviceSize rest = r.buffer->size - r.offset;
    return r.size == VKR_WHOLE_SIZE ? rest : r.size;
}

/* vkr_range_check for `count` elements of `elem_bytes` each; the message counts in that unit. */
static vkr_status vkr_range_check_elems(vkr_range r, uint64_t count, uint64_t elem_bytes, const char* kernel,
                                        const char* binding) {
    if (!r.buffer || !r.buffer->vk)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: range %s has no buffer", kernel, binding);
    if (r.offset > r.buffer->size)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: range %s offset %llu is outside its %llu-byte buffer", kernel,
                        binding, (unsigned long long)r.offset, (unsigned long long)r.buffer->size);
    if (r.size != VKR_WHOLE_SIZE && r.size > r.buffer->size - r.offset)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: range %s [%llu, +%llu) is outside its %llu-byte buffer (overruns "
                        "it by %llu bytes)", kernel, binding, (unsigned long long)r.offset, (unsigned long long)r.size,
                        (unsigned long long)r.buffer->size,
                        (unsigned long long)(r.size - (r.buffer->size - r.offset)));
    VkDeviceSize have = vkr_range_bytes(r);
    if (have / elem_bytes >= count) return VKR_OK;
    if (elem_bytes == 1)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: range %s holds %llu bytes but %llu are needed", kernel, binding,
                        (unsigned long long)have, (unsigned long long)count);
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: range %s holds %llu bytes but %llu elements (%llu bytes) are needed",
                    kernel, binding, (unsigned long long)have, (unsigned long long)count,
                    (unsigned long long)(count * elem_bytes));
}

vkr_status vkr_range_check(vkr_range r, uint64_t need_bytes, const char* kernel, const char* binding) {
    return vkr_range_check_elems(r, need_bytes, 1, kernel, binding);
}

vkr_status vkr_range_take(vkr_range r, uint64_t need_bytes, const char* kernel, const char* binding, vkr_range* out) {
    *out = (vkr_range){0};
    VKR_TRY(vkr_range_check(r, need_bytes, kernel, binding));
    *out = (vkr_range){r.buffer, r.offset, need_bytes};
    return VKR_OK;
}

vkr_status vkr_range_take_words(vkr_range r, uint64_t count, const char* kernel, const char* binding, vkr_range* out) {
    *out = (vkr_range){0};
    VKR_TRY(vkr_range_check_elems(r, count, 4, kernel, binding));
    *out = (vkr_range){r.buffer, r.offset, count * 4};
    return VKR_OK;
}

vkr_range vkr_range_words(vkr_range r, uint64_t first, uint64_t count) {
    return (vkr_range){r.buffer, r.offset + first * 4, count * 4};
}

bool vkr_ranges_overlap(const vkr_range* a, const vkr_range* b) {
    if (!a->buffer || !b->buffer || a->buffer->vk != b->buffer->vk) return false;
    VkDeviceSize a0 = a->buffer->offset + a->offset, b0 = b->buffer->offset + b->offset;
    return a0 < b0 + vkr_range_bytes(*b) && b0 < a0 + vkr_range_bytes(*a);
}

uint64_t vkr_storage_align_words(uint64_t count) { return vkr_align_up(count, VKR_STORAGE_ALIGN_WORDS); }
