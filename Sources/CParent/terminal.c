// No <termios.h> or <sys/ioctl.h>: their struct termios is glibc's, not the kernel's.
#define _GNU_SOURCE
#include "bulkhead_parent.h"

#include <asm/ioctls.h>
#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(sizeof(struct bh_terminal_mode) == sizeof(struct termios), "kernel struct termios layout");

int bh_terminal_get(int fd, struct bh_terminal_mode *mode) {
    return syscall(SYS_ioctl, fd, TCGETS, mode) == 0 ? 0 : -errno;
}

int bh_terminal_set(int fd, const struct bh_terminal_mode *mode) {
    return syscall(SYS_ioctl, fd, TCSETS, mode) == 0 ? 0 : -errno;
}

void bh_terminal_make_raw(struct bh_terminal_mode *mode) {
    mode->iflag &= ~(unsigned)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    mode->lflag &= ~(unsigned)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    mode->cflag &= ~(unsigned)(CSIZE | PARENB);
    mode->cflag |= CS8;
    mode->cc[VMIN] = 1;
    mode->cc[VTIME] = 0;
}

int bh_terminal_is_foreground(int fd) {
    pid_t group = 0;
    if (syscall(SYS_ioctl, fd, TIOCGPGRP, &group) != 0) return 0;
    return group == getpgrp();
}

int bh_terminal_keeper(const struct bh_terminal_mode *saved, int *write_end) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);  // fork semantics, no atfork handlers
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return -e;
    }
    if (pid == 0) {
        static const int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTTOU};
        struct sigaction ignore;
        memset(&ignore, 0, sizeof ignore);
        ignore.sa_handler = SIG_IGN;
        for (unsigned i = 0; i < sizeof ignored / sizeof ignored[0]; i++) sigaction(ignored[i], &ignore, 0);
        // The pipe's read end at 3, everything else but the terminal closed: the write end
        // too, or the end of file would never come.
        if (fds[0] != 3 && dup2(fds[0], 3) != 3) _exit(1);
        syscall(SYS_close_range, 4, ~0U, 0);
        close(1);
        close(2);
        char byte;
        while (read(3, &byte, 1) < 0 && errno == EINTR) {}  // nobody writes: 0 is the end of file
        syscall(SYS_ioctl, 0, TCSETS, saved);
        _exit(0);
    }
    close(fds[0]);
    *write_end = fds[1];
    return pid;
}
