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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* ---- several files as one unit ----
 * A stage that writes several files (tokenize: semantic IDs, weights, stats; tsne: .npy and .csv)
 * reserves a temporary name per output with vkr_stage_add, writes each file there with whatever
 * writer it has, and only when every write succeeded renames them all over their targets
 * (vkr_stage_commit). A failure before the commit (a full disk, a bad value) leaves every target as
 * it was; vkr_stage_abort removes the temporaries. The commit checks that no target is a directory
 * before renaming any; renames cannot run out of space, so only a crash between them (after every
 * write succeeded) can leave some targets renewed. */

/* Most files one vkr_stage commits. */
#define VKR_STAGE_MAX_FILES 8

/* Outputs staged under temporary names until vkr_stage_commit. */
typedef struct vkr_stage {
    uint32_t count;                                      /* outputs added */
    char path[VKR_STAGE_MAX_FILES][VKR_FILE_MAX_PATH + 1]; /* each target */
    char tmp[VKR_STAGE_MAX_FILES][VKR_FILE_MAX_PATH + 48]; /* where it is written first */
} vkr_stage;

/* Empties `stage` (no files). */
void vkr_stage_init(vkr_stage* stage);
/* Reserves a temporary name beside `path` and returns it in out_tmp (owned by the stage; NULL on error). */
vkr_status vkr_stage_add(vkr_stage* stage, const char* path, const char** out_tmp);
/* Renames every staged file over its target (each must exist) and fsyncs their directories. */
vkr_status vkr_stage_commit(vkr_stage* stage);
/* Removes the staged temporaries that exist; targets are untouched. */
void vkr_stage_abort(vkr_stage* stage);

/* ---- temporaries of killed writers ---- */

/* Removes `dir`'s temporaries (NAME.tmp-PID-N: files, or directories of plain files) whose writer PID
 * no longer runs, so a killed run's leftovers go on the next run; out_removed (may be NULL) counts them. */
vkr_status vkr_temps_clean(const char* dir, uint32_t* out_removed);
/* How deep vkr_temps_clean_locked looks below its directory (RUN_DIR/checkpoints/MODEL is 2). */
#define VKR_TEMPS_LOCKED_DEPTH 3
/* Removes every temporary in `dir` and its subdirectories that another process wrote: the caller holds
 * dir's lock (vkr_lock_take), so no live vkrec writes there, and a writer's pid may already belong to
 * an unrelated process (pids are reused), which vkr_temps_clean cannot tell apart. */
vkr_status vkr_temps_clean_locked(const char* dir, uint32_t* out_removed);
/* Removes every TARGET.tmp-* and TARGET.old-* beside `target`, whoever wrote them: the caller holds
 * the lock on target (vkr_lock_take), so no live vkrec is writing them. */
vkr_status vkr_temps_clean_beside(const char* target, uint32_t* out_removed);
/* Removes the plain files of the flat directory `dir`, then `dir`; false when something remains. */
bool vkr_remove_flat_dir(const char* dir);

/* ---- advisory locks ---- */

/* An advisory lock (flock on a lock file) held until vkr_lock_release or the process ends. */
typedef struct vkr_lock {
    int fd;                                /* the locked file; -1 when not held */
    char path[VKR_FILE_MAX_PATH + 16];     /* the lock file */
} vkr_lock;

/* Takes the lock file `lock_path` (created with this process's pid in it) without waiting; STATE
 * "WHAT is in use by another vkrec (pid N)" when another process holds it. out_lock zeroed on entry. */
vkr_status vkr_lock_take(const char* lock_path, const char* what, vkr_lock* out_lock);
/* Removes the lock file and releases the lock (a lock not held: no-op). */
void vkr_lock_release(vkr_lock* lock);

/* ---- checksums and identity ---- */

/* Starting value of vkr_hash64. */
#define VKR_HASH64_INIT 0xcbf29ce484222325ull
/* 64-bit FNV-1a of `size` bytes continuing `hash`: detects every single-byte change (a checksum, not a MAC). */
uint64_t vkr_hash64(uint64_t hash, const void* data, size_t size);
/* vkr_hash64 of the whole file `path`; out_hash zeroed on entry; IO naming the file on failure. */
vkr_status vkr_hash64_file(const char* path, uint64_t* out_hash);
/* Writes the directory holding `path` into out ("." for a bare name, "/" for a root entry). */
void vkr_parent_dir(const char* path, char* out, size_t cap);
/* Whether `a` and `b` name the same existing file (same device and inode). */
bool vkr_same_file(const char* a, const char* b);

#endif
