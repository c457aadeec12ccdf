/*
 * filter_frames.c - writes the filter tests' frame fixture: a pcap file (Ethernet) of mixed frames
 * that exercise every part of a tcpdump expression: IPv4 (options, fragments, TCP with random
 * flags, UDP, ICMP, GRE), IPv6 (TCP, UDP, ICMPv6, a hop-by-hop header), ARP, 802.1Q and QinQ
 * tags, broadcast and unicast MACs, truncated captures (captured < wire length) and runts.
 *
 * Deterministic: the same seed gives the same bytes on every machine, so other implementations of
 * spantap_filter.h (the Rust crate) can regenerate it and compare against the same verdicts.
 * Writes the pcap format itself (no libpcap needed).
 *
 * usage: filter_frames OUT.pcap [COUNT]     (COUNT defaults to 2400)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x5350414e54415031ull;

static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 16);
}

static uint32_t pick(uint32_t n) { return next() % n; }

struct frame {
    uint8_t bytes[1600];
    uint32_t length;
};

static void put16(struct frame *f, uint32_t value)
{
    f->bytes[f->length++] = (uint8_t)(value >> 8);
    f->bytes[f->length++] = (uint8_t)value;
}

static void put32(struct frame *f, uint32_t value)
{
    put16(f, value >> 16);
    put16(f, value & 0xffff);
}

static void put_bytes(struct frame *f, const uint8_t *bytes, uint32_t count)
{
    memcpy(f->bytes + f->length, bytes, count);
    f->length += count;
}

static const uint32_t ipv4_addresses[] = {
    0x0a000001, 0x0a010203, 0x0a7f0009, 0xc0a80107, 0xc0a80a0a, 0xac100001, 0xac1f0505,
    0x08080808, 0xe0000001, 0xeffffffa, 0x64400001,
};
static const uint16_t ports[] = { 22, 53, 80, 443, 5001, 5002, 5005, 8080, 123, 1023, 1024, 40000, 65535 };

static uint32_t ipv4_address(void) { return ipv4_addresses[pick(sizeof ipv4_addresses / sizeof ipv4_addresses[0])]; }

static uint16_t port(void)
{
    return pick(4) == 0 ? (uint16_t)(1 + pick(65535)) : ports[pick(sizeof ports / sizeof ports[0])];
}

static void ipv6_address(struct frame *f)
{
    static const uint8_t prefixes[][8] = {
        { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0 }, { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0 },
        { 0xfe, 0x80, 0, 0, 0, 0, 0, 0 }, { 0x26, 0x00, 0x1f, 0x18, 0, 0, 0, 0 },
    };
    uint8_t interface_id[8] = { 0, 0, 0, 0, 0, 0, 0, (uint8_t)(1 + pick(3)) };
    put_bytes(f, prefixes[pick(4)], 8);
    put_bytes(f, interface_id, 8);
}

/* TCP, UDP or ICMP(v6) header and payload for IP protocol `protocol`. */
static void transport(struct frame *f, uint8_t protocol)
{
    uint32_t payload = pick(6) == 0 ? 400 + pick(1000) : pick(80), i;
    if (protocol == 6) {
        put16(f, port()); put16(f, port());
        put32(f, next()); put32(f, next());
        f->bytes[f->length++] = 0x50;
        f->bytes[f->length++] = (uint8_t)(pick(3) == 0 ? 0x02 : next() & 0x3f); /* flags, often SYN */
        put16(f, 65535); put16(f, 0); put16(f, 0);
    } else if (protocol == 17) {
        put16(f, port()); put16(f, port());
        put16(f, 8 + payload); put16(f, 0);
        if (pick(4) == 0) { put32(f, 0xdeadbeef); payload = payload >= 4 ? payload - 4 : 0; }
    } else if (protocol == 1 || protocol == 58) {
        f->bytes[f->length++] = (uint8_t)(pick(2) ? (protocol == 1 ? 8 : 128) : pick(20));
        f->bytes[f->length++] = 0;
        put16(f, 0); put32(f, next());
    }
    for (i = 0; i < payload && f->length < sizeof f->bytes; i++) f->bytes[f->length++] = (uint8_t)next();
}

static uint8_t ip_protocol(void)
{
    static const uint8_t protocols[] = { 6, 6, 6, 17, 17, 17, 1, 47 };
    return protocols[pick(sizeof protocols)];
}

static void ipv4(struct frame *f)
{
    uint32_t start = f->length, options = pick(5) == 0 ? 1 : 0;
    uint8_t protocol = ip_protocol();
    uint32_t fragment = pick(8) == 0 ? (pick(2) ? 0x2000 : 0x00b9) : (pick(2) ? 0x4000 : 0);
    f->bytes[f->length++] = (uint8_t)(0x45 + options);
    f->bytes[f->length++] = 0;
    put16(f, 0); /* total length, filled in below */
    put16(f, pick(65536)); put16(f, fragment);
    f->bytes[f->length++] = (uint8_t)(pick(4) == 0 ? 0 : 1 + pick(255)); /* TTL, sometimes 0 */
    f->bytes[f->length++] = protocol;
    put16(f, 0);
    put32(f, ipv4_address()); put32(f, ipv4_address());
    if (options) put32(f, 0x01010100);
    transport(f, protocol == 47 ? 0 : protocol);
    f->bytes[start + 2] = (uint8_t)((f->length - start) >> 8);
    f->bytes[start + 3] = (uint8_t)(f->length - start);
}

static void ipv6(struct frame *f)
{
    static const uint8_t protocols[] = { 6, 17, 58, 0 };
    uint32_t start = f->length;
    uint8_t next_header = protocols[pick(4)], transport_protocol = next_header;
    put32(f, 0x60000000);
    put16(f, 0);
    f->bytes[f->length++] = next_header;
    f->bytes[f->length++] = 64;
    ipv6_address(f); ipv6_address(f);
    if (next_header == 0) { /* hop-by-hop options, then TCP or UDP */
        transport_protocol = pick(2) ? 6 : 17;
        f->bytes[f->length++] = transport_protocol;
        f->bytes[f->length++] = 0;
        put16(f, 0x0104); put32(f, 0);
    }
    transport(f, transport_protocol);
    f->bytes[start + 4] = (uint8_t)((f->length - start - 40) >> 8);
    f->bytes[start + 5] = (uint8_t)(f->length - start - 40);
}

static void arp(struct frame *f)
{
    put16(f, 1); put16(f, 0x0800);
    f->bytes[f->length++] = 6; f->bytes[f->length++] = 4;
    put16(f, 1 + pick(2));
    put32(f, 0x02000000); put16(f, 1); put32(f, ipv4_address());
    put32(f, 0); put16(f, 0); put32(f, ipv4_address());
}

static void build(struct frame *f)
{
    static const uint8_t macs[][6] = {
        { 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0x01, 0x00, 0x5e, 0, 0, 1 }, { 0x33, 0x33, 0, 0, 0, 1 },
    };
    static const uint16_t vlan_ids[] = { 100, 200, 5, 4094 };
    uint32_t kind = pick(10), tags = pick(4) == 0 ? 1 + pick(2) : 0, t;
    f->length = 0;
    put_bytes(f, macs[pick(5)], 6);
    put_bytes(f, macs[pick(2)], 6);
    for (t = 0; t < tags; t++) {
        put16(f, tags == 2 && t == 0 ? 0x88a8 : 0x8100);
        put16(f, (uint16_t)(pick(8) << 13 | vlan_ids[pick(4)]));
    }
    if (kind < 5) { put16(f, 0x0800); ipv4(f); }
    else if (kind < 8) { put16(f, 0x86dd); ipv6(f); }
    else if (kind < 9) { put16(f, 0x0806); arp(f); }
    else { put16(f, pick(2) ? 0x88cc : 0x0800); ipv4(f); }
    while (f->length < 60) f->bytes[f->length++] = 0; /* Ethernet pads to 60 bytes */
}

static void put_le32(FILE *out, uint32_t value)
{
    uint8_t bytes[4] = { (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16), (uint8_t)(value >> 24) };
    fwrite(bytes, 1, 4, out);
}

int main(int argc, char **argv)
{
    struct frame f;
    uint32_t count = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 2400, i;
    FILE *out;
    if (argc < 2) {
        fprintf(stderr, "usage: filter_frames OUT.pcap [COUNT]\n");
        return 2;
    }
    out = fopen(argv[1], "wb");
    if (!out) { perror(argv[1]); return 1; }
    /* pcap global header: magic, version 2.4, zone, sigfigs, snaplen, LINKTYPE_ETHERNET */
    put_le32(out, 0xa1b2c3d4); put_le32(out, 0x00040002); put_le32(out, 0); put_le32(out, 0);
    put_le32(out, 65535); put_le32(out, 1);
    for (i = 0; i < count; i++) {
        uint32_t captured, wire;
        build(&f);
        wire = captured = f.length;
        switch (pick(12)) {
        case 0: captured = 14 + pick(40); break;           /* truncated capture inside the headers */
        case 1: wire = captured = 1 + pick(20); break;     /* runt: shorter than the headers */
        default: break;
        }
        if (captured > wire) captured = wire;
        put_le32(out, i / 1000); put_le32(out, (i % 1000) * 1000);
        put_le32(out, captured); put_le32(out, wire);
        fwrite(f.bytes, 1, captured, out);
    }
    return fclose(out) == 0 ? 0 : 1;
}
