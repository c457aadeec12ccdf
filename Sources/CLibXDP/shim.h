// libxdp's AF_XDP API (xsk.h: UMEM, sockets, and the static inline ring accessors the fast
// path calls directly from Swift), libxdp's program/dispatcher inspection (libxdp.h) and the
// kernel's AF_XDP ABI (if_xdp.h: bind flags, XDP_STATISTICS).
#include <xdp/xsk.h>
#include <xdp/libxdp.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/if_xdp.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/eventfd.h>  /* the forwarding loop's stop wake-up */
