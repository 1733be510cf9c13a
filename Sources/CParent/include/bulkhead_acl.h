// POSIX ACL presence for the parent's access check (Sources/bulkhead/HelperUserAccess.swift):
// <sys/xattr.h> is not part of Swift's Glibc module.
#ifndef BULKHEAD_ACL_H
#define BULKHEAD_ACL_H

/// Whether `path` carries an access ACL: getxattr(path, "system.posix_acl_access", NULL, 0).
/// Returns 1 (it does), 0 (no such attribute, or the filesystem has no xattrs) or -errno.
int bh_has_access_acl(const char *path);

#endif
