// POSIX ACL presence: see include/bulkhead_acl.h.
#include "bulkhead_acl.h"

#include <errno.h>
#include <stddef.h>
#include <sys/xattr.h>

int bh_has_access_acl(const char *path) {
    if (getxattr(path, "system.posix_acl_access", NULL, 0) >= 0) return 1;
    return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
}
