/* libpcap, for spantapd's config side only: compiling tcpdump expressions (pcap_open_dead,
 * pcap_compile). Producers never link it; they run the program through spantap_filter.h. */
#define _DEFAULT_SOURCE /* <pcap/pcap.h> uses the BSD types u_int, u_char */
#include <pcap/pcap.h>
