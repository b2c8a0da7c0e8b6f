/* Embedded SPIR-V registry: every shaders/NAME.comp is compiled at build time and linked in, so the
 * binary needs no shader files at run time. */
#ifndef VKR_SHADER_REGISTRY_H
#define VKR_SHADER_REGISTRY_H
#include <stddef.h>
#include <stdint.h>

/* One compiled compute shader. */
typedef struct vkr_embedded_shader {
    const char* name;      /* file name without .comp, e.g. "saxpy" */
    const uint32_t* words; /* SPIR-V words */
    size_t word_count;     /* number of SPIR-V words */
} vkr_embedded_shader;

/* Returns the shader called `name`, or NULL when no such shader was built. */
const vkr_embedded_shader* vkr_shader_find(const char* name);
/* Number of embedded shaders. */
size_t vkr_shader_count(void);
/* Shader number i (0 <= i < vkr_shader_count()), or NULL. */
const vkr_embedded_shader* vkr_shader_at(size_t i);

#endif
