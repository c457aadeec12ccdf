#define _GNU_SOURCE
#include "spantap_sys.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <pthread.h>
#include <unistd.h>

int spantap_memfd_create(const char *name)
{
    return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

int spantap_memfd_seal_size(int fd)
{
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
}

int spantap_eventfd(void)
{
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int spantap_pipe_cloexec(int ends[2])
{
    return pipe2(ends, O_CLOEXEC);
}

int spantap_spawn_close_from(posix_spawn_file_actions_t *actions, int from)
{
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int spantap_tun_set_tap(int fd, char *name, int multi_queue)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (multi_queue ? IFF_MULTI_QUEUE : 0);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        return -1;
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    return 0;
}

int spantap_tun_set_persist(int fd, int persist)
{
    return ioctl(fd, TUNSETPERSIST, (unsigned long)persist);
}

int spantap_packet_socket(int ifindex, int capture)
{
    int protocol = capture ? htons(ETH_P_ALL) : 0;
    /* Protocol 0 at socket(): a socket made with ETH_P_ALL hears every interface until bind()
     * narrows it to one, so a capture could start with other interfaces' frames. */
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    struct sockaddr_ll address = { .sll_family = AF_PACKET, .sll_protocol = (unsigned short)protocol,
                                   .sll_ifindex = ifindex };
    if ((capture && setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) < 0) ||
        bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

long spantap_packet_recv(int fd, void *buf, size_t len, uint32_t *tag, int *outgoing)
{
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))]; } control;
    struct sockaddr_ll from;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof control.buf };
    long n = recvmsg(fd, &msg, MSG_TRUNC);
    if (n < 0)
        return n;
    *tag = 0;
    *outgoing = from.sll_pkttype == PACKET_OUTGOING;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
            continue;
        struct tpacket_auxdata aux;
        memcpy(&aux, CMSG_DATA(c), sizeof aux);
        if (aux.tp_status & TP_STATUS_VLAN_VALID) {
            uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
            *tag = (uint32_t)tpid << 16 | aux.tp_vlan_tci;
        }
    }
    return n;
}

long spantap_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int) * 8)]; } control;
    if (nfds < 0 || nfds > 8) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

long spantap_recv_fds(int sock, void *buf, size_t len, int *fds, int max_fds, int *nfds)
{
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int) * 8)]; } control;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof control.buf };
    *nfds = 0;
    long n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (*nfds < max_fds)
                fds[(*nfds)++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

int spantap_peer_credentials(int sock, uint32_t *uid, int32_t *pid)
{
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0)
        return -1;
    *uid = credentials.uid;
    *pid = credentials.pid;
    return 0;
}

int spantap_peer_in_group(int sock, uint32_t gid)
{
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0)
        return -1;
    if (credentials.gid == gid)
        return 1;
    gid_t groups[256];
    length = sizeof groups;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &length) < 0)
        return -1; /* ERANGE: more than 256 groups; refused rather than guessed */
    for (size_t i = 0; i < length / sizeof groups[0]; i++)
        if (groups[i] == gid)
            return 1;
    return 0;
}

int spantap_gettid(void)
{
    return (int)gettid();
}

void spantap_set_thread_name(const char *name)
{
    char truncated[16];
    snprintf(truncated, sizeof truncated, "%s", name);
    pthread_setname_np(pthread_self(), truncated);
}

int spantap_place_thread(int tid, int policy, int nice, const int *cpus, int count, const char **step)
{
    static const int policies[] = { SCHED_OTHER, SCHED_BATCH, SCHED_IDLE };
    struct sched_param parameter = { .sched_priority = 0 };
    *step = "scheduling";
    if (policy < 0 || policy > 2 || sched_setscheduler(tid, policies[policy], &parameter) != 0)
        return -1;
    *step = "nice";
    if (setpriority(PRIO_PROCESS, (id_t)tid, nice) != 0)
        return -1;
    cpu_set_t set;
    CPU_ZERO(&set);
    long configured = sysconf(_SC_NPROCESSORS_CONF);
    for (int i = 0; i < (count ? count : (int)configured); i++) {
        int cpu = count ? cpus[i] : i;
        if (cpu < 0 || cpu >= CPU_SETSIZE) {
            errno = EINVAL;
            return -1;
        }
        CPU_SET(cpu, &set);
    }
    *step = "cpus";
    return sched_setaffinity(tid, sizeof set, &set);
}

int spantap_gre_socket(int family, const void *remote, const void *local, const char **step)
{
    struct sockaddr_storage to = { 0 }, from = { 0 };
    socklen_t length;
    if (family == AF_INET) {
        struct sockaddr_in *r = (struct sockaddr_in *)&to, *l = (struct sockaddr_in *)&from;
        r->sin_family = l->sin_family = AF_INET;
        memcpy(&r->sin_addr, remote, 4);
        if (local)
            memcpy(&l->sin_addr, local, 4);
        length = sizeof *r;
    } else {
        struct sockaddr_in6 *r = (struct sockaddr_in6 *)&to, *l = (struct sockaddr_in6 *)&from;
        r->sin6_family = l->sin6_family = AF_INET6;
        memcpy(&r->sin6_addr, remote, 16);
        if (local)
            memcpy(&l->sin6_addr, local, 16);
        length = sizeof *r;
    }
    *step = "socket";
    int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_GRE);
    if (fd < 0)
        return -1;
    struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog nothing = { .len = 1, .filter = &drop };
    int on = 1, probe = family == AF_INET ? IP_PMTUDISC_DO : IPV6_PMTUDISC_DO;
    if ((*step = "attach drop-all filter", setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &nothing, sizeof nothing)) < 0 ||
        (family == AF_INET
             ? (*step = "set IP_MTU_DISCOVER", setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe))
             : ((*step = "set IPV6_MTU_DISCOVER", setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe)) < 0 ||
                (*step = "set IPV6_DONTFRAG", setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &on, sizeof on)))) < 0 ||
        (local && (*step = "bind local address", bind(fd, (struct sockaddr *)&from, length)) < 0) ||
        (*step = "connect to remote", connect(fd, (struct sockaddr *)&to, length)) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

_Static_assert(sizeof(struct spantap_mmsghdr) == sizeof(struct mmsghdr), "spantap_mmsghdr is struct mmsghdr");
_Static_assert(offsetof(struct spantap_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "spantap_mmsghdr is struct mmsghdr");

int spantap_sendmmsg(int fd, struct spantap_mmsghdr *messages, unsigned int count, int flags)
{
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}
