/* Test helper for SeccompKernelTests: loads a seccomp BPF program from a file, then either
 * probes a few syscalls ("probe") or execs a command ("exec CMD ARGS...").
 * usage: seccomp-loader FILE FLAGS probe|exec ... */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long rc) {
    if (rc < 0)
        printf("%s=-1 errno=%d\n", name, errno);
    else
        printf("%s=ok\n", name);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s FILE FLAGS probe|exec ...\n", argv[0]);
        return 64;
    }
    static unsigned char buf[4096 * 8 + 1];
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror("open"); return 65; }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n == 0 || n % 8 != 0 || n > 4096 * 8) { fprintf(stderr, "bad program size %zu\n", n); return 65; }
    struct sock_fprog prog = { .len = (unsigned short)(n / 8), .filter = (struct sock_filter *)buf };
    unsigned long flags = strtoul(argv[2], NULL, 0);

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("prctl"); return 66; }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0) {
        printf("load=-1 errno=%d\n", errno);
        return 67;
    }
    printf("load=ok\n");
    fflush(stdout);

    if (strcmp(argv[3], "exec") == 0 && argc > 4) {
        execv(argv[4], &argv[4]);
        printf("exec=-1 errno=%d\n", errno);
        return 68;
    }
    report("getpid", syscall(SYS_getpid));
    report("unshare", syscall(SYS_unshare, CLONE_NEWNS));
    report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
    report("mount", syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, NULL));
    report("personality_bad", syscall(SYS_personality, 0x12345));
    report("clone3", syscall(435, NULL, 0));
    report("nr1000", syscall(1000));
    return 0;
}
