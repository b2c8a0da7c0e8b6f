#include "vkr_dist.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef VKR_HAVE_MPI
#include <mpi.h>
#endif

static uint32_t g_rank, g_size = 1, g_local;
static uint64_t g_bytes;
#ifdef VKR_HAVE_MPI
static bool g_mpi; /* MPI_Init was called */
#endif

bool vkr_dist_built(void) {
#ifdef VKR_HAVE_MPI
    return true;
#else
    return false;
#endif
}

uint32_t vkr_dist_rank(void) { return g_rank; }
uint32_t vkr_dist_size(void) { return g_size; }
uint32_t vkr_dist_local_rank(void) { return g_local; }
uint64_t vkr_dist_bytes(void) { return g_bytes; }

#ifdef VKR_HAVE_MPI
/* Launchers that set these start ranks; a plain start skips MPI_Init (Open MPI's singleton start
 * would fork a runtime daemon for nothing). */
static bool vkr_launched(void) {
    static const char* const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return true;
    return false;
}

static vkr_status vkr_mpi_check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return VKR_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return vkr_fail(VKR_ERR_IO, "%s failed on rank %u of %u: %s", what, g_rank, g_size, msg);
}
#endif

vkr_status vkr_dist_init(int* argc, char*** argv) {
#ifdef VKR_HAVE_MPI
    if (!vkr_launched() || g_mpi) return VKR_OK;
    VKR_TRY(vkr_mpi_check(MPI_Init(argc, argv), "MPI_Init"));
    g_mpi = true;
    /* errors come back as codes, so a failure is reported with its rank instead of a bare abort */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int r = 0, n = 1, lr = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, r, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &lr);
        MPI_Comm_free(&node);
    }
    g_rank = (uint32_t)r;
    g_size = (uint32_t)n;
    g_local = (uint32_t)lr;
#else
    (void)argc;
    (void)argv;
#endif
    return VKR_OK;
}

void vkr_dist_finalize(void) {
#ifdef VKR_HAVE_MPI
    if (g_mpi) MPI_Finalize();
    g_mpi = false;
#endif
    g_rank = 0;
    g_size = 1;
    g_local = 0;
}

/* The element types summed. */
typedef enum { VKR_DIST_F32, VKR_DIST_F64, VKR_DIST_U64 } vkr_dist_type;

/* Sums count elements of `type` over every rank in place; MPI counts are ints, so large arrays go in
 * pieces below 2^30 elements. */
static vkr_status vkr_dist_sum(void* data, uint64_t count, vkr_dist_type type) {
    uint32_t elem = type == VKR_DIST_F32 ? 4 : 8;
#ifdef VKR_HAVE_MPI
    if (g_size == 1 || count == 0) return VKR_OK;
    MPI_Datatype mt = type == VKR_DIST_F32 ? MPI_FLOAT : type == VKR_DIST_F64 ? MPI_DOUBLE : MPI_UINT64_T;
    enum { PIECE = 1 << 30 };
    for (uint64_t at = 0; at < count; at += PIECE) {
        int n = (int)(count - at < PIECE ? count - at : PIECE);
        VKR_TRY(vkr_mpi_check(MPI_Allreduce(MPI_IN_PLACE, (char*)data + at * elem, n, mt, MPI_SUM, MPI_COMM_WORLD),
                              "MPI_Allreduce"));
    }
    g_bytes += count * elem;
#else
    (void)data, (void)count, (void)elem;
#endif
    return VKR_OK;
}

vkr_status vkr_dist_sum_f32(float* data, uint64_t count) { return vkr_dist_sum(data, count, VKR_DIST_F32); }
vkr_status vkr_dist_sum_f64(double* data, uint64_t count) { return vkr_dist_sum(data, count, VKR_DIST_F64); }
vkr_status vkr_dist_sum_u64(uint64_t* data, uint64_t count) { return vkr_dist_sum(data, count, VKR_DIST_U64); }

void vkr_dist_abort(const char* message) {
    fprintf(stderr, "vkrec: rank %u of %u failed: %s\n", g_rank, g_size, message);
#ifdef VKR_HAVE_MPI
    if (g_mpi && g_size > 1) {
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
#endif
}
