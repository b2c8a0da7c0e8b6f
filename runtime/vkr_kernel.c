#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_internal.h"
#include "vkr_shader_registry.h"

/* One descriptor-set layout and pipeline layout per binding count, shared by all kernels, so
 * that layouts are few and every kernel gets the full push-constant range. */
static vkr_status vkr_layouts_for(vkr_device* dev, uint32_t n) {
    if (dev->pipeline_layouts[n]) return VKR_OK;
    VkDescriptorSetLayoutBinding b[VKR_MAX_BINDINGS];
    for (uint32_t i = 0; i < n; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = n, .pBindings = b};
    VKR_CHECK_VK(vkCreateDescriptorSetLayout(dev->vk, &lci, NULL, &dev->set_layouts[n]), "vkCreateDescriptorSetLayout");
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = VKR_MAX_PUSH_BYTES};
    VkPipelineLayoutCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                      .pSetLayouts = &dev->set_layouts[n], .pushConstantRangeCount = 1,
                                      .pPushConstantRanges = &pr};
    VKR_CHECK_VK(vkCreatePipelineLayout(dev->vk, &pci, NULL, &dev->pipeline_layouts[n]), "vkCreatePipelineLayout");
    return VKR_OK;
}

static bool vkr_kernel_matches(const vkr_kernel* k, const vkr_kernel_desc* d) {
    return strcmp(k->shader, d->shader) == 0 && k->spec_count == d->spec_count &&
           memcmp(k->spec, d->spec, d->spec_count * sizeof(uint32_t)) == 0;
}

static void vkr_kernel_free(vkr_device* dev, vkr_kernel* k) {
    if (!k) return;
    if (k->pipeline) vkDestroyPipeline(dev->vk, k->pipeline, NULL);
    if (k->module) vkDestroyShaderModule(dev->vk, k->module, NULL);
    free(k);
}

vkr_status vkr_kernel_get(vkr_device* dev, const vkr_kernel_desc* d, vkr_kernel** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_kernel_get: out_kernel is NULL");
    *out = NULL;
    if (!dev || !d || !d->shader) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_kernel_get: NULL argument");
    if (d->binding_count > VKR_MAX_BINDINGS || d->spec_count > VKR_MAX_SPEC || d->push_bytes > VKR_MAX_PUSH_BYTES)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT,
                        "kernel %s: %u bindings, %u spec constants, %u push bytes exceed the limits (%d, %d, %d)",
                        d->shader, d->binding_count, d->spec_count, d->push_bytes, VKR_MAX_BINDINGS, VKR_MAX_SPEC,
                        VKR_MAX_PUSH_BYTES);
    for (uint32_t i = 0; i < dev->kernel_count; i++)
        if (vkr_kernel_matches(dev->kernels[i], d)) {
            *out = dev->kernels[i];
            return VKR_OK;
        }
    const vkr_embedded_shader* sh = vkr_shader_find(d->shader);
    if (!sh) return vkr_fail(VKR_ERR_NOT_FOUND, "no embedded shader named '%s'", d->shader);
    for (uint32_t i = 0; i < d->binding_count; i++)
        if (d->access[i] < VKR_READ || d->access[i] > VKR_READ_WRITE)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "kernel %s: binding %u has no access mode", d->shader, i);
    VKR_TRY(vkr_layouts_for(dev, d->binding_count));
    VKR_TRY(vkr_grow((void**)&dev->kernels, &dev->kernel_cap, dev->kernel_count + 1, sizeof *dev->kernels));

    vkr_kernel* k = calloc(1, sizeof *k);
    if (!k) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating kernel %s", d->shader);
    snprintf(k->shader, sizeof k->shader, "%s", d->shader);
    int len = snprintf(k->name, sizeof k->name, "%s", d->shader);
    for (uint32_t i = 0; i < d->spec_count && len > 0 && (size_t)len < sizeof k->name; i++)
        len += snprintf(k->name + len, sizeof k->name - (size_t)len, "%c%u", i == 0 ? '[' : ',', d->spec[i]);
    if (d->spec_count && len > 0 && (size_t)len < sizeof k->name - 1) strcat(k->name, "]");
    k->spec_count = d->spec_count;
    memcpy(k->spec, d->spec, sizeof k->spec);
    k->binding_count = d->binding_count;
    memcpy(k->access, d->access, sizeof k->access);
    k->push_bytes = d->push_bytes;
    k->layout = dev->pipeline_layouts[d->binding_count];
    k->set_layout = dev->set_layouts[d->binding_count];

    VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                    .codeSize = sh->word_count * sizeof(uint32_t), .pCode = sh->words};
    VkResult r = vkCreateShaderModule(dev->vk, &mci, NULL, &k->module);
    if (r == VK_SUCCESS) {
        VkSpecializationMapEntry entries[VKR_MAX_SPEC];
        for (uint32_t i = 0; i < d->spec_count; i++)
            entries[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4, .size = 4};
        VkSpecializationInfo spec = {.mapEntryCount = d->spec_count, .pMapEntries = entries,
                                     .dataSize = d->spec_count * 4, .pData = k->spec};
        VkComputePipelineCreateInfo pci = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                      .module = k->module, .pName = "main", .pSpecializationInfo = d->spec_count ? &spec : NULL},
            .layout = k->layout,
        };
        r = vkCreateComputePipelines(dev->vk, dev->pipeline_cache, 1, &pci, NULL, &k->pipeline);
    }
    if (r != VK_SUCCESS) {
        vkr_kernel_free(dev, k);
        return vkr_fail(vkr_status_from_vk(r), "building kernel %s failed: %s", d->shader, vkr_vk_result_name(r));
    }
    k->profile_slot = vkr_profile_slot(dev, k->name);
    dev->kernels[dev->kernel_count++] = k;
    dev->cache_dirty = true;
    *out = k;
    return VKR_OK;
}

const char* vkr_kernel_name(const vkr_kernel* k) { return k ? k->name : ""; }
uint32_t vkr_device_kernel_count(const vkr_device* dev) { return dev ? dev->kernel_count : 0; }

void vkr_kernels_release_all(vkr_device* dev) {
    for (uint32_t i = 0; i < dev->kernel_count; i++) vkr_kernel_free(dev, dev->kernels[i]);
    free(dev->kernels);
    dev->kernels = NULL;
    dev->kernel_count = dev->kernel_cap = 0;
    for (uint32_t n = 0; n <= VKR_MAX_BINDINGS; n++) {
        if (dev->pipeline_layouts[n]) vkDestroyPipelineLayout(dev->vk, dev->pipeline_layouts[n], NULL);
        if (dev->set_layouts[n]) vkDestroyDescriptorSetLayout(dev->vk, dev->set_layouts[n], NULL);
        dev->pipeline_layouts[n] = VK_NULL_HANDLE;
        dev->set_layouts[n] = VK_NULL_HANDLE;
    }
}
