#!/usr/bin/env python3
"""Writes rp_hash_v4.txt and rp_hash_v6.txt: RFC 7761 section 4.7.2 hash values for a table of
groups x hash mask lengths x RPs, from an implementation independent of the Rust one.

IPv6 (RFC 7761 section 4.7.2): the group is masked to the hash mask length first, then group and
RP are each folded to 32 bits by XOR of their four 32-bit words."""
import ipaddress


def value(g, c):
    return (1103515245 * ((1103515245 * g + 12345) ^ c) + 12345) % (2**31)


def masked(addr, bits, mask_len):
    mask_len = min(mask_len, bits)
    mask = ((1 << bits) - 1) ^ ((1 << (bits - mask_len)) - 1)
    return int(addr) & mask


def fold(i, bits):
    if bits == 32:
        return i
    return (i >> 96 & 0xFFFFFFFF) ^ (i >> 64 & 0xFFFFFFFF) ^ (i >> 32 & 0xFFFFFFFF) ^ (i & 0xFFFFFFFF)


def table(groups, rps, masks, bits, name, family):
    with open(name, "w") as f:
        f.write("# RFC 7761 §4.7.2 hash values, computed by an independent Python implementation\n")
        extra = ", XOR-fold each address to 32 bits" if bits == 128 else ""
        f.write("# (%s: mask the group to the hash mask length%s, then the formula).\n" % (family, extra))
        f.write("# group mask-len rp value\n")
        for g in groups:
            for m in masks:
                for r in rps:
                    ga, ra = ipaddress.ip_address(g), ipaddress.ip_address(r)
                    f.write(f"{g} {m} {r} {value(fold(masked(ga, bits, m), bits), fold(int(ra), bits))}\n")


table(
    ["239.0.0.0", "239.1.2.3", "239.1.2.4", "239.192.168.1", "239.255.255.255", "232.1.1.1", "224.1.0.1"],
    ["198.18.0.1", "198.18.0.2", "198.18.1.1", "198.19.255.254"],
    [0, 24, 30, 32],
    32,
    "rp_hash_v4.txt",
    "IPv4",
)
table(
    ["ff0e::1", "ff3e::4321:1234", "ff0e:c20:1a3:63::101", "ff05::1:3", "ff0e::ffff:fffe"],
    ["fd00::1", "fd00::2", "fd00:0:0:1::1", "fd12:3456:789a::1"],
    [0, 64, 126, 128],
    128,
    "rp_hash_v6.txt",
    "IPv6",
)
