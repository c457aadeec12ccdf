/*
 * spantap_sys.h - one-line wrappers for calls Swift cannot make directly (variadic ioctl/fcntl,
 * GNU-only prototypes, function-like macros). No logic lives here; each returns what the kernel
 * returned, with errno set on failure.
 */
#ifndef SPANTAP_SYS_H
#define SPANTAP_SYS_H

#include <spawn.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stddef.h>

/* memfd_create(2) with MFD_CLOEXEC | MFD_ALLOW_SEALING. */
int spantap_memfd_create(const char *name);
/* Forbid growing, shrinking and further sealing, so a peer cannot make our mapping SIGBUS. */
int spantap_memfd_seal_size(int fd);
/* eventfd(2), non-blocking and close-on-exec. */
int spantap_eventfd(void);

/* pipe2(2) with O_CLOEXEC (glibc declares pipe2 only under _GNU_SOURCE): no child spawned by
 * another thread inherits either end. */
int spantap_pipe_cloexec(int ends[2]);

/* posix_spawn_file_actions_addclosefrom_np (glibc declares it only under _GNU_SOURCE): the child
 * closes every descriptor from `from` on, so it inherits none another thread left inheritable. */
int spantap_spawn_close_from(posix_spawn_file_actions_t *actions, int from);

/* TUNSETIFF with IFF_TAP | IFF_NO_PI (| IFF_MULTI_QUEUE if multi_queue) on an open /dev/net/tun
 * fd. name is in/out (IFNAMSIZ bytes): empty asks the kernel to pick one. With multi_queue, each
 * further fd set to the same name becomes one more queue of that TAP. */
int spantap_tun_set_tap(int fd, char *name, int multi_queue);
/* TUNSETPERSIST: keep the device when the last fd closes. */
int spantap_tun_set_persist(int fd, int persist);

/* An AF_PACKET raw socket bound to ifindex, non-blocking. Writing sends a whole frame out of that
 * port (SPAN to an existing L2 port). With capture != 0 it also receives every frame on the port,
 * with PACKET_AUXDATA on; with capture == 0 it receives nothing, so the kernel copies nothing to it. */
int spantap_packet_socket(int ifindex, int capture);

/* struct mmsghdr and sendmmsg(2), which glibc declares only under _GNU_SOURCE (so Swift does not
 * see them): the same layout (checked in spantap_sys.c), and the call. */
struct spantap_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};
int spantap_sendmmsg(int fd, struct spantap_mmsghdr *messages, unsigned int count, int flags);

/* A raw IP socket of protocol GRE (47) for a remote mirror output, non-blocking: family AF_INET
 * or AF_INET6, remote and local (NULL: the route's choice) 4 or 16 bytes in network order. It is
 * connected to remote, so each write is one GRE packet and the kernel adds the outer IP header
 * from its route; DF is set (IP_PMTUDISC_DO / IPV6_DONTFRAG), so a packet over the path MTU is
 * refused with EMSGSIZE rather than fragmented; a filter that drops everything keeps the kernel
 * from queueing to it each GRE packet the host receives. On failure returns -1 with errno set
 * and *step naming the call that failed. */
int spantap_gre_socket(int family, const void *remote, const void *local, const char **step);
/* Receives one frame from a spantap_packet_socket. The kernel moves a received frame's outer VLAN
 * tag into metadata; *tag returns it as (TPID << 16 | TCI), 0 if there was none, so callers can put
 * it back as libpcap does. *outgoing is 1 for frames this host sent out of the port. */
long spantap_packet_recv(int fd, void *buf, size_t len, uint32_t *tag, int *outgoing);

/* Sends buf with up to 8 file descriptors attached (SCM_RIGHTS). */
long spantap_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);
/* Receives into buf and up to max_fds descriptors (close-on-exec); *nfds says how many came.
 * Descriptors beyond max_fds are closed, never leaked. */
long spantap_recv_fds(int sock, void *buf, size_t len, int *fds, int max_fds, int *nfds);
/* The uid and pid of the process at the other end of a connected unix socket (SO_PEERCRED). */
int spantap_peer_credentials(int sock, uint32_t *uid, int32_t *pid);
/* Whether the peer of a unix socket has group `gid` (its primary group, or one of its
 * supplementary groups from SO_PEERGROUPS): 1 yes, 0 no, -1 with errno on failure. */
int spantap_peer_in_group(int sock, uint32_t gid);

/* The calling thread's kernel id (gettid), and its name as /proc and top -H show it (15 bytes). */
int spantap_gettid(void);
void spantap_set_thread_name(const char *name);
/* Places thread tid: policy 0 SCHED_OTHER, 1 SCHED_BATCH, 2 SCHED_IDLE; nice; affinity to the
 * count CPUs in cpus (count 0: every configured CPU). 0, or -1 with errno and *step naming the
 * call that failed ("scheduling", "nice" or "cpus"). */
int spantap_place_thread(int tid, int policy, int nice, const int *cpus, int count, const char **step);

#endif
