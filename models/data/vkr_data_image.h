/* Private to the data module: the data.bin image (see vkr_data.h for the layout), shared by
 * preparation (build in memory), writing (store the image) and loading (map and bind it). */
#ifndef VKR_DATA_IMAGE_H
#define VKR_DATA_IMAGE_H
#include "vkr_data.h"

#define VKR_DATA_MAGIC "VKRDATA"  /* first 8 bytes of data.bin, NUL-padded */
#define VKR_DATA_HEADER_BYTES 32  /* bytes of data.bin's header, before the section table */

/* One array to place in an image. */
typedef struct vkr_image_section {
    const char* name;    /* section name (< 24 bytes) */
    uint32_t elem_bytes; /* bytes per element */
    const void* data;    /* elements */
    uint64_t count;      /* element count */
} vkr_image_section;

/* Packs sections into a freshly allocated image (header, table, 64-byte aligned arrays). */
vkr_status vkr_data_image_build(const vkr_image_section* sections, uint32_t count, uint8_t** out_image,
                                size_t* out_bytes);
/* Stores the CRC-32 of an image (at least VKR_DATA_HEADER_BYTES long) in its header;
 * vkr_data_image_build does, and tools that edit an image on purpose call it. */
void vkr_data_image_seal(uint8_t* image, size_t bytes);
/* Points the dataset's arrays into `image` (checking header, checksum, table and sizes; `what` names the file
 * in errors) and sets item/user/event/example counts. Domain fields must already be set. */
vkr_status vkr_data_image_bind(vkr_dataset* dataset, const void* image, size_t bytes, const char* what);

#endif
