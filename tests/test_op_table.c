/* The one op table (graph/internal/vkr_graph_ops_internal.h): every op kind has a named
 * implementation, and every kind that computes something has a forward. */
#include <stdbool.h>
#include <string.h>

#include "vkr_graph_ops_internal.h"
#include "vkr_test.h"

static void test_every_op_kind_has_an_entry(void** state) {
    (void)state;
    assert_null(vkr_op_get(VKR_OP_NONE));
    assert_null(vkr_op_get(VKR_OP_COUNT));
    for (uint32_t op = 1; op < VKR_OP_COUNT; op++) {
        const vkr_op_impl* impl = vkr_op_get(op);
        if (!impl) fail_msg("op kind %u has no entry in vkr_op_table", op);
        assert_ptr_equal(impl, vkr_op_table[op]);
        if (!impl->name || !impl->name[0]) fail_msg("op kind %u has no name", op);
        /* a view and a host-derived input do no work; every other kind computes its node */
        bool no_work = op == VKR_OP_RESHAPE || op == VKR_OP_CSR;
        if (no_work) {
            assert_null(impl->forward);
            assert_null(impl->backward);
        } else if (!impl->forward) {
            fail_msg("op kind %u (%s) has no forward", op, impl->name);
        }
        for (uint32_t other = 1; other < op; other++)
            if (strcmp(vkr_op_get(other)->name, impl->name) == 0)
                fail_msg("op kinds %u and %u are both named %s", other, op, impl->name);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_kind_has_an_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
