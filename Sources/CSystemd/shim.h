// libsystemd (pkg-config libsystemd): the journal's non-variadic sd_journal_sendv.
// sd_journal_send and sd_notifyf are variadic and cannot be called from Swift.
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
#include <sys/uio.h>
