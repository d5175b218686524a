//! Numbers to the names people read: record types, classes, opcodes, rcodes and EDNS option codes.
//! Unknown values use the RFC 3597 generic forms ("TYPE65280", "CLASS42") and "RCODE12" / "OPCODE9".

use std::borrow::Cow;

/// The mnemonic of a record type (IANA "Resource Record (RR) TYPEs"), else "TYPE<n>".
pub fn rr_type(t: u16) -> Cow<'static, str> {
    let s = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        32768 => "TA",
        32769 => "DLV",
        _ => return Cow::Owned(format!("TYPE{t}")),
    };
    Cow::Borrowed(s)
}

/// The mnemonic of a class, else "CLASS<n>".
pub fn class(c: u16) -> Cow<'static, str> {
    let s = match c {
        1 => "IN",
        3 => "CH",
        4 => "HS",
        254 => "NONE",
        255 => "ANY",
        _ => return Cow::Owned(format!("CLASS{c}")),
    };
    Cow::Borrowed(s)
}

/// The mnemonic of a header opcode (IANA "DNS OpCodes"), else "OPCODE<n>".
pub fn opcode(op: u8) -> Cow<'static, str> {
    let s = match op {
        0 => "QUERY",
        1 => "IQUERY",
        2 => "STATUS",
        4 => "NOTIFY",
        5 => "UPDATE",
        6 => "DSO",
        _ => return Cow::Owned(format!("OPCODE{op}")),
    };
    Cow::Borrowed(s)
}

/// The mnemonic of an (extended, up to 12-bit) response code (IANA "DNS RCODEs"), else "RCODE<n>".
/// 16 is BADVERS here: BADSIG shares the number but only appears inside TSIG records.
pub fn rcode(rc: u16) -> Cow<'static, str> {
    let s = match rc {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => return Cow::Owned(format!("RCODE{rc}")),
    };
    Cow::Borrowed(s)
}

/// The name of an EDNS(0) option code (IANA "DNS EDNS0 Option Codes"), else "OPT<n>".
pub fn edns_option(code: u16) -> Cow<'static, str> {
    let s = match code {
        1 => "LLQ",
        2 => "UL",
        3 => "NSID",
        5 => "DAU",
        6 => "DHU",
        7 => "N3U",
        8 => "CLIENT-SUBNET",
        9 => "EXPIRE",
        10 => "COOKIE",
        11 => "TCP-KEEPALIVE",
        12 => "PADDING",
        13 => "CHAIN",
        14 => "KEY-TAG",
        15 => "EDE",
        18 => "REPORT-CHANNEL",
        _ => return Cow::Owned(format!("OPT{code}")),
    };
    Cow::Borrowed(s)
}

/// The name of an SVCB/HTTPS SvcParamKey (RFC 9460 §14.3.2), else "key<n>" as the RFC writes it.
pub fn svc_param_key(key: u16) -> Cow<'static, str> {
    let s = match key {
        0 => "mandatory",
        1 => "alpn",
        2 => "no-default-alpn",
        3 => "port",
        4 => "ipv4hint",
        5 => "ech",
        6 => "ipv6hint",
        7 => "dohpath",
        8 => "ohttp",
        _ => return Cow::Owned(format!("key{key}")),
    };
    Cow::Borrowed(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Numbers from the IANA registries, typed in independently of the tables above.
    #[test]
    fn known_and_unknown_values() {
        let types = [
            (1, "A"),
            (28, "AAAA"),
            (5, "CNAME"),
            (16, "TXT"),
            (15, "MX"),
            (33, "SRV"),
            (12, "PTR"),
            (2, "NS"),
            (6, "SOA"),
            (65, "HTTPS"),
            (64, "SVCB"),
            (41, "OPT"),
            (257, "CAA"),
            (255, "ANY"),
        ];
        for (n, name) in types {
            assert_eq!(rr_type(n), name, "type {n}");
        }
        assert_eq!(rr_type(65280), "TYPE65280");
        assert_eq!(rr_type(0), "TYPE0");
        assert_eq!(class(1), "IN");
        assert_eq!(class(3), "CH");
        assert_eq!(class(2), "CLASS2");
        let rcodes = [(0, "NOERROR"), (1, "FORMERR"), (2, "SERVFAIL"), (3, "NXDOMAIN"), (4, "NOTIMP"), (5, "REFUSED")];
        for (n, name) in rcodes {
            assert_eq!(rcode(n), name, "rcode {n}");
        }
        assert_eq!(rcode(12), "RCODE12");
        assert_eq!(rcode(16), "BADVERS");
        assert_eq!(opcode(0), "QUERY");
        assert_eq!(opcode(5), "UPDATE");
        assert_eq!(opcode(3), "OPCODE3");
        assert_eq!(edns_option(10), "COOKIE");
        assert_eq!(edns_option(4), "OPT4");
        assert_eq!(svc_param_key(1), "alpn");
        assert_eq!(svc_param_key(65000), "key65000");
    }
}
