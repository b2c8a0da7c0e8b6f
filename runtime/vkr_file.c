#include "vkr_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Distinguishes temporary files of concurrent writers of one path within this process. */
static atomic_uint vkr_atomic_counter;

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
        snprintf(out->tmp, sizeof out->tmp, "%s.tmp-%ld-%u", path, (long)getpid(),
                 atomic_fetch_add(&vkr_atomic_counter, 1u));
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

/* Fsyncs the directory holding `path`, so that a rename into it survives a crash. */
static vkr_status vkr_sync_parent(const char* path) {
    char dir[VKR_FILE_MAX_PATH + 1];
    snprintf(dir, sizeof dir, "%s", path);
    char* slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
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
