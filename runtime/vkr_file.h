/* The one atomic file writer of vkrec: readers see the old file or the complete new one, never a
 * torn mix, even across a crash or power loss.
 *
 * Contract: vkr_atomic_open creates a temporary file with a unique name next to the target (same
 * directory, so the final rename cannot cross file systems) and hands out a FILE* to stream into.
 * Writes into that stream need no individual checks: vkr_atomic_commit checks the stream's error
 * flag, then flushes, fsyncs and closes the file, renames it over the target and fsyncs the
 * directory so the rename itself is durable. Every failure returns VKR_ERR_IO with a message naming
 * the path (and the system's strerror, except for a buffered write that failed earlier, whose errno
 * is gone by the commit), and removes the temporary file; an existing target is then left untouched.
 * vkr_atomic_abort discards the temporary file. Exactly one of commit or abort must follow a
 * successful open; both leave the writer zeroed, so calling abort after commit is harmless.
 * The new file gets mode 0666 minus the umask, like fopen's.
 *
 * Usage (a report streamed with fprintf; a failed write surfaces as the commit's error):
 *     vkr_atomic_file w;
 *     VKR_TRY(vkr_atomic_open(path, &w));
 *     fprintf(w.file, "{\"epochs\": %u}\n", epochs);
 *     return vkr_atomic_commit(&w);
 * Call vkr_atomic_abort(&w) instead of the commit to give up (e.g. when building the content failed);
 * for bytes already in memory, vkr_write_file_atomic(path, data, size) does all three steps. */
#ifndef VKR_FILE_H
#define VKR_FILE_H
#include <stddef.h>
#include <stdio.h>

#include "vkr_status.h"

/* Longest target path, in bytes, that vkr_atomic_open accepts. */
#define VKR_FILE_MAX_PATH 4000

/* An open atomic write: stream into `file`, then vkr_atomic_commit or vkr_atomic_abort. */
typedef struct vkr_atomic_file {
    FILE* file;                       /* the temporary file's stream; NULL when not open */
    char path[VKR_FILE_MAX_PATH + 1]; /* the target path */
    char tmp[VKR_FILE_MAX_PATH + 48]; /* the temporary file's path */
} vkr_atomic_file;

/* Starts an atomic write of `path`; out_file is zeroed on entry. */
vkr_status vkr_atomic_open(const char* path, vkr_atomic_file* out_file);
/* Flushes, fsyncs and closes the stream, renames it over the target, fsyncs the directory. */
vkr_status vkr_atomic_commit(vkr_atomic_file* file);
/* Closes and removes the temporary file, leaving any existing target untouched. */
void vkr_atomic_abort(vkr_atomic_file* file);
/* Writes `size` bytes at `data` to `path` atomically (open, write, commit). */
vkr_status vkr_write_file_atomic(const char* path, const void* data, size_t size);

#endif
