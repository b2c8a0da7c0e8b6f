/* flock() is BSD, beyond the project-wide POSIX level */
#define _DEFAULT_SOURCE
#include "vkr_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Distinguishes temporary files of concurrent writers of one path within this process. */
static atomic_uint vkr_atomic_counter;

/* PATH.tmp-PID-N: unique among this process's writers, and names the writer for vkr_temps_clean. */
static void vkr_temp_name(char* out, size_t cap, const char* path) {
    snprintf(out, cap, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&vkr_atomic_counter, 1u));
}

vkr_status vkr_atomic_open(const char* path, vkr_atomic_file* out) {
    memset(out, 0, sizeof *out);
    if (!path || !*path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_atomic_open: the file path is empty");
    if (strlen(path) > VKR_FILE_MAX_PATH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "file path is longer than %d bytes: %.64s...", VKR_FILE_MAX_PATH,
                        path);
    snprintf(out->path, sizeof out->path, "%s", path);
    /* mkstemp would create the file with mode 0600; O_EXCL on a pid-and-counter name is as safe and
     * lets the umask decide the mode, as it does for any other file the program writes. */
    for (int attempt = 0; attempt < 64; attempt++) {
        vkr_temp_name(out->tmp, sizeof out->tmp, path);
        int fd = open(out->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) break;
        out->file = fdopen(fd, "wb");
        if (out->file) return VKR_OK;
        int err = errno;
        close(fd);
        unlink(out->tmp);
        errno = err;
        break;
    }
    vkr_status s = vkr_fail(VKR_ERR_IO, "cannot create a temporary file for %s: %s", path, strerror(errno));
    memset(out, 0, sizeof *out);
    return s;
}

void vkr_parent_dir(const char* path, char* out, size_t cap) {
    snprintf(out, cap, "%s", path);
    char* slash = strrchr(out, '/');
    if (slash == out) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(out, cap, ".");
}

/* Fsyncs the directory holding `path`, so that a rename into it survives a crash. */
static vkr_status vkr_sync_parent(const char* path) {
    char dir[VKR_FILE_MAX_PATH + 1];
    vkr_parent_dir(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return vkr_fail(VKR_ERR_IO, "cannot open directory %s to sync %s: %s", dir, path, strerror(errno));
    /* Some file systems cannot sync a directory (EINVAL); there is nothing more to make durable. */
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL)
        return vkr_fail(VKR_ERR_IO, "cannot sync directory %s after writing %s: %s", dir, path, strerror(err));
    return VKR_OK;
}

vkr_status vkr_atomic_commit(vkr_atomic_file* w) {
    if (!w || !w->file) return vkr_fail(VKR_ERR_STATE, "vkr_atomic_commit: the file is not open");
    FILE* f = w->file;
    w->file = NULL;
    vkr_status s = VKR_OK;
    if (ferror(f)) s = vkr_fail(VKR_ERR_IO, "cannot write %s: a write to %s failed", w->path, w->tmp);
    else if (fflush(f) != 0) s = vkr_fail(VKR_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
    else if (fsync(fileno(f)) != 0) s = vkr_fail(VKR_ERR_IO, "cannot fsync %s: %s", w->tmp, strerror(errno));
    if (fclose(f) != 0 && s == VKR_OK) s = vkr_fail(VKR_ERR_IO, "cannot close %s: %s", w->tmp, strerror(errno));
    if (s == VKR_OK && rename(w->tmp, w->path) != 0)
        s = vkr_fail(VKR_ERR_IO, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
    if (s != VKR_OK) unlink(w->tmp);
    else s = vkr_sync_parent(w->path);
    memset(w, 0, sizeof *w);
    return s;
}

void vkr_atomic_abort(vkr_atomic_file* w) {
    if (!w || !w->file) return;
    fclose(w->file);
    unlink(w->tmp);
    memset(w, 0, sizeof *w);
}

vkr_status vkr_write_file_atomic(const char* path, const void* data, size_t size) {
    vkr_atomic_file w;
    VKR_TRY(vkr_atomic_open(path, &w));
    if (size) fwrite(data, 1, size, w.file);
    return vkr_atomic_commit(&w);
}

void vkr_stage_init(vkr_stage* st) { st->count = 0; }

vkr_status vkr_stage_add(vkr_stage* st, const char* path, const char** out_tmp) {
    *out_tmp = NULL;
    if (!path || !*path || strlen(path) > VKR_FILE_MAX_PATH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_stage_add: empty or too long output path");
    if (st->count == VKR_STAGE_MAX_FILES)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_stage_add: more than %d outputs (%s)", VKR_STAGE_MAX_FILES, path);
    snprintf(st->path[st->count], sizeof st->path[0], "%s", path);
    vkr_temp_name(st->tmp[st->count], sizeof st->tmp[0], path);
    *out_tmp = st->tmp[st->count++];
    return VKR_OK;
}

vkr_status vkr_stage_commit(vkr_stage* st) {
    vkr_status s = VKR_OK;
    /* every file written, and no target a directory (the one rename that fails), before any rename */
    for (uint32_t i = 0; i < st->count && s == VKR_OK; i++) {
        struct stat sb;
        if (access(st->tmp[i], F_OK) != 0)
            s = vkr_fail(VKR_ERR_STATE, "%s was not written (staged as %s)", st->path[i], st->tmp[i]);
        else if (stat(st->path[i], &sb) == 0 && S_ISDIR(sb.st_mode))
            s = vkr_fail(VKR_ERR_IO, "cannot replace %s: it is a directory", st->path[i]);
    }
    for (uint32_t i = 0; i < st->count && s == VKR_OK; i++)
        if (rename(st->tmp[i], st->path[i]) != 0)
            s = vkr_fail(VKR_ERR_IO, "cannot rename %s to %s: %s", st->tmp[i], st->path[i], strerror(errno));
    for (uint32_t i = 0; i < st->count && s == VKR_OK; i++) s = vkr_sync_parent(st->path[i]);
    if (s != VKR_OK) vkr_stage_abort(st);
    st->count = 0;
    return s;
}

void vkr_stage_abort(vkr_stage* st) {
    for (uint32_t i = 0; i < st->count; i++) unlink(st->tmp[i]);
    st->count = 0;
}

bool vkr_remove_flat_dir(const char* dir) {
    DIR* dp = opendir(dir);
    if (!dp) return false;
    struct dirent* e;
    char path[VKR_FILE_MAX_PATH + 512];
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(dp);
    return rmdir(dir) == 0;
}

/* The writer pid of a temporary's name NAME.tmp-PID-N (0: not such a name). */
static long vkr_temp_pid(const char* name) {
    const char* t = NULL;
    for (const char* p = strstr(name, ".tmp-"); p; p = strstr(p + 1, ".tmp-")) t = p; /* the last one */
    if (!t || t[5] < '1' || t[5] > '9') return 0;
    char* end = NULL;
    long pid = strtol(t + 5, &end, 10);
    if (pid <= 0 || *end != '-' || !end[1]) return 0;
    for (const char* d = end + 1; *d; d++)
        if (*d < '0' || *d > '9') return 0;
    return pid;
}

/* Removes a file, or a flat directory; counts it in *removed. */
static void vkr_temp_remove(const char* path, uint32_t* removed) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode) ? vkr_remove_flat_dir(path) : unlink(path) == 0) (*removed)++;
    else vkr_log(VKR_LOG_WARN, "vkrec: cannot remove the stale temporary %s", path);
}

/* Removes the entries of `dir` that `stale` accepts (with `arg`), and with depth > 0 those of its
 * subdirectories down to that depth; adds them to *removed. */
static vkr_status vkr_temps_remove_in(const char* dir, bool (*stale)(const char* name, const void* arg),
                                      const void* arg, uint32_t depth, uint32_t* removed) {
    DIR* dp = opendir(dir);
    if (!dp) return vkr_fail(VKR_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    struct dirent* e;
    char path[VKR_FILE_MAX_PATH + 512];
    vkr_status s = VKR_OK;
    while (s == VKR_OK && (e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stale(e->d_name, arg)) vkr_temp_remove(path, removed);
        else if (depth > 0 && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            s = vkr_temps_remove_in(path, stale, arg, depth - 1, removed);
    }
    closedir(dp);
    return s;
}

/* vkr_temps_remove_in with a count that starts at zero (out_removed may be NULL). */
static vkr_status vkr_temps_remove_if(const char* dir, bool (*stale)(const char* name, const void* arg),
                                      const void* arg, uint32_t depth, uint32_t* out_removed) {
    uint32_t removed = 0;
    if (out_removed) *out_removed = 0;
    vkr_status s = vkr_temps_remove_in(dir, stale, arg, depth, &removed);
    if (out_removed) *out_removed = removed;
    return s;
}

/* A temporary whose writer is gone (a reused pid keeps it until that process ends: harmless). */
static bool vkr_temp_orphaned(const char* name, const void* arg) {
    (void)arg;
    long pid = vkr_temp_pid(name);
    return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

vkr_status vkr_temps_clean(const char* dir, uint32_t* out_removed) {
    return vkr_temps_remove_if(dir, vkr_temp_orphaned, NULL, 0, out_removed);
}

/* A temporary another process wrote (the caller holds the lock, so that writer is gone). */
static bool vkr_temp_foreign(const char* name, const void* arg) {
    (void)arg;
    long pid = vkr_temp_pid(name);
    return pid > 0 && pid != (long)getpid();
}

vkr_status vkr_temps_clean_locked(const char* dir, uint32_t* out_removed) {
    return vkr_temps_remove_if(dir, vkr_temp_foreign, NULL, VKR_TEMPS_LOCKED_DEPTH, out_removed);
}

/* BASE.tmp-* or BASE.old-* (arg: BASE). */
static bool vkr_temp_beside(const char* name, const void* arg) {
    size_t n = strlen(arg);
    return strncmp(name, arg, n) == 0 && (strncmp(name + n, ".tmp-", 5) == 0 || strncmp(name + n, ".old-", 5) == 0);
}

vkr_status vkr_temps_clean_beside(const char* target, uint32_t* out_removed) {
    char path[VKR_FILE_MAX_PATH + 1], dir[VKR_FILE_MAX_PATH + 1];
    size_t n = strlen(target);
    while (n > 1 && target[n - 1] == '/') n--;
    if (n == 0 || n > VKR_FILE_MAX_PATH) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "bad path '%s'", target);
    snprintf(path, sizeof path, "%.*s", (int)n, target);
    vkr_parent_dir(path, dir, sizeof dir);
    const char* slash = strrchr(path, '/');
    return vkr_temps_remove_if(dir, vkr_temp_beside, slash ? slash + 1 : path, 0, out_removed);
}

/* The pid recorded in an open lock file (0: none readable). */
static long vkr_lock_owner(int fd) {
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    return n > 0 ? strtol(buf, NULL, 10) : 0;
}

vkr_status vkr_lock_take(const char* lock_path, const char* what, vkr_lock* out) {
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (!lock_path || strlen(lock_path) >= sizeof out->path)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_lock_take: empty or too long lock path");
    /* A holder removes the file before releasing it: a lock taken on a file no longer at lock_path
     * is stale, so retry on the one that is there now. */
    for (int attempt = 0; attempt < 16; attempt++) {
        int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) return vkr_fail(VKR_ERR_IO, "cannot create the lock file %s: %s", lock_path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            long pid = vkr_lock_owner(fd);
            close(fd);
            if (err == EWOULDBLOCK && pid > 0)
                return vkr_fail(VKR_ERR_STATE, "%s is in use by another vkrec (pid %ld; lock file %s)", what, pid,
                                lock_path);
            if (err == EWOULDBLOCK)
                return vkr_fail(VKR_ERR_STATE, "%s is in use by another process (lock file %s)", what, lock_path);
            return vkr_fail(VKR_ERR_IO, "cannot lock %s: %s", lock_path, strerror(err));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lock_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            char pid[32];
            int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
                vkr_log(VKR_LOG_WARN, "vkrec: cannot record the pid in %s", lock_path);
            out->fd = fd;
            snprintf(out->path, sizeof out->path, "%s", lock_path);
            return VKR_OK;
        }
        close(fd);
    }
    return vkr_fail(VKR_ERR_STATE, "%s: the lock file %s keeps being replaced", what, lock_path);
}

void vkr_lock_release(vkr_lock* lock) {
    if (!lock || lock->fd < 0) return;
    unlink(lock->path);
    close(lock->fd);
    lock->fd = -1;
}

uint64_t vkr_hash64(uint64_t h, const void* data, size_t size) {
    const unsigned char* p = data;
    for (size_t i = 0; i < size; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

vkr_status vkr_hash64_file(const char* path, uint64_t* out_hash) {
    *out_hash = 0;
    FILE* f = fopen(path, "rb");
    if (!f) return vkr_fail(VKR_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    uint64_t h = VKR_HASH64_INIT;
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = vkr_hash64(h, buf, n);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) return vkr_fail(VKR_ERR_IO, "cannot read %s", path);
    *out_hash = h;
    return VKR_OK;
}

bool vkr_same_file(const char* a, const char* b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}
