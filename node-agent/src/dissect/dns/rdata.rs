//! RDATA: decoding the record types people look at, and their one-line presentation.
//!
//! Presentation ([`RData`]'s `Display`, the entries' `data` field):
//! - A, AAAA: the address; AAAA in RFC 5952 canonical form ("2001:db8::1").
//! - CNAME, NS, PTR, DNAME: the name (names as in [`super::parser`]: no trailing dot, "<Root>").
//! - MX: "preference exchange", e.g. "10 mail.example.com".
//! - TXT: every character-string in double quotes, separated by one space, as in a zone file
//!   (RFC 1035 §5.1): `"v=spf1 -all" "second"`. Inside the quotes `"` and `\` are escaped with a
//!   backslash and bytes outside printable ASCII as `\DDD`. (tshark's dns.txt shows each string
//!   raw and separately; quoting keeps the string boundaries and stays unambiguous.)
//! - SRV: "priority weight port target".
//! - SOA: "mname rname serial refresh retry expire minimum".
//! - CAA: `flags tag "value"` (RFC 8659 presentation).
//! - SVCB, HTTPS: "priority target key=value ..." (RFC 9460 presentation: alpn and hints as
//!   comma-separated lists, ech base64, unknown keys as `key<n>=` with escaped bytes).
//! - OPT: the options as `NAME=hex` words (the JSON summarises OPT separately, see `json.rs`).
//! - Everything else, and any RDATA that does not decode: lowercase hex, no separators.

use super::mnemonic;
use super::parser::Reader;
use base64::Engine as _;
use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_MX: u16 = 15;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_DNAME: u16 = 39;
pub const TYPE_OPT: u16 = 41;
pub const TYPE_SVCB: u16 = 64;
pub const TYPE_HTTPS: u16 = 65;
pub const TYPE_AXFR: u16 = 252;
pub const TYPE_IXFR: u16 = 251;
pub const TYPE_CAA: u16 = 257;

/// Decoded RDATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME, NS, PTR, DNAME: a single name.
    Name(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    /// The character-strings, raw.
    Txt(Vec<Vec<u8>>),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    Caa {
        flags: u8,
        tag: Vec<u8>,
        value: Vec<u8>,
    },
    /// SVCB and HTTPS; params are (key, value) with values checked for their key's format.
    Svcb {
        priority: u16,
        target: String,
        params: Vec<(u16, Vec<u8>)>,
    },
    /// OPT's EDNS options as (code, data).
    Opt(Vec<(u16, Vec<u8>)>),
    /// Types not decoded here, and RDATA that did not decode.
    Raw(Vec<u8>),
}

/// Decodes the `len` bytes of RDATA at `start` in `msg` (the whole message, for compression).
/// The error says why the RDATA is malformed; the caller then keeps it raw.
pub fn decode(msg: &[u8], start: usize, len: usize, rtype: u16) -> Result<RData, String> {
    let end = start
        .checked_add(len)
        .filter(|&e| e <= msg.len())
        .ok_or_else(|| format!("RDATA runs past the message ({len} bytes at {start})"))?;
    let body = &msg[start..end];
    // Names may point anywhere before, but their own bytes must stay inside the RDATA.
    let mut r = Reader::new(&msg[..end], start);
    let name = |r: &mut Reader, what: &str| r.name().map_err(|e| format!("{what}: {e}"));
    let need = |n: usize, what: &str| -> Result<(), String> {
        if len == n {
            Ok(())
        } else {
            Err(format!("{what} needs {n} bytes"))
        }
    };
    let field = |e: super::parser::ErrorKind| e.to_string();
    let data = match rtype {
        TYPE_A => {
            need(4, "A")?;
            r.pos = end;
            RData::A(Ipv4Addr::new(body[0], body[1], body[2], body[3]))
        }
        TYPE_AAAA => {
            need(16, "AAAA")?;
            r.pos = end;
            let mut a = [0u8; 16];
            a.copy_from_slice(body);
            RData::Aaaa(Ipv6Addr::from(a))
        }
        TYPE_CNAME | TYPE_NS | TYPE_PTR | TYPE_DNAME => RData::Name(name(&mut r, "name")?),
        TYPE_MX => {
            RData::Mx { preference: r.u16("MX preference").map_err(field)?, exchange: name(&mut r, "exchange")? }
        }
        TYPE_TXT => {
            let mut strings = Vec::new();
            while r.remaining() > 0 {
                let n = r.u8("TXT length").map_err(field)? as usize;
                strings.push(r.bytes(n, "TXT string").map_err(field)?.to_vec());
            }
            RData::Txt(strings)
        }
        TYPE_SRV => RData::Srv {
            priority: r.u16("SRV priority").map_err(field)?,
            weight: r.u16("SRV weight").map_err(field)?,
            port: r.u16("SRV port").map_err(field)?,
            target: name(&mut r, "target")?,
        },
        TYPE_SOA => RData::Soa {
            mname: name(&mut r, "mname")?,
            rname: name(&mut r, "rname")?,
            serial: r.u32("SOA serial").map_err(field)?,
            refresh: r.u32("SOA refresh").map_err(field)?,
            retry: r.u32("SOA retry").map_err(field)?,
            expire: r.u32("SOA expire").map_err(field)?,
            minimum: r.u32("SOA minimum").map_err(field)?,
        },
        TYPE_CAA => {
            let flags = r.u8("CAA flags").map_err(field)?;
            let tag_len = r.u8("CAA tag length").map_err(field)? as usize;
            if tag_len == 0 {
                return Err("CAA tag is empty".into());
            }
            let tag = r.bytes(tag_len, "CAA tag").map_err(field)?.to_vec();
            let value = r.bytes(r.remaining(), "CAA value").map_err(field)?.to_vec();
            RData::Caa { flags, tag, value }
        }
        TYPE_SVCB | TYPE_HTTPS => {
            let priority = r.u16("SvcPriority").map_err(field)?;
            let target = name(&mut r, "TargetName")?;
            let mut params = Vec::new();
            while r.remaining() > 0 {
                let key = r.u16("SvcParamKey").map_err(field)?;
                let n = r.u16("SvcParam length").map_err(field)? as usize;
                let value = r.bytes(n, "SvcParamValue").map_err(field)?;
                check_svc_param(key, value)?;
                params.push((key, value.to_vec()));
            }
            RData::Svcb { priority, target, params }
        }
        TYPE_OPT => {
            let mut options = Vec::new();
            while r.remaining() > 0 {
                let code = r.u16("EDNS option code").map_err(field)?;
                let n = r.u16("EDNS option length").map_err(field)? as usize;
                options.push((code, r.bytes(n, "EDNS option data").map_err(field)?.to_vec()));
            }
            RData::Opt(options)
        }
        _ => {
            r.pos = end;
            RData::Raw(body.to_vec())
        }
    };
    if r.remaining() > 0 {
        return Err(format!("{} bytes left over", r.remaining()));
    }
    Ok(data)
}

/// Checks a SvcParamValue against its key's wire format (RFC 9460 §7), so `Display` can trust it.
fn check_svc_param(key: u16, v: &[u8]) -> Result<(), String> {
    let ok = match key {
        0 => !v.is_empty() && v.len().is_multiple_of(2),
        1 => !v.is_empty() && alpn_ids(v).is_some(),
        2 | 8 => v.is_empty(),
        3 => v.len() == 2,
        4 => !v.is_empty() && v.len().is_multiple_of(4),
        6 => !v.is_empty() && v.len().is_multiple_of(16),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("SvcParam {} has a malformed value of {} bytes", mnemonic::svc_param_key(key), v.len()))
    }
}

/// Splits an alpn value into its length-prefixed ids; None when the lengths do not add up.
fn alpn_ids(mut v: &[u8]) -> Option<Vec<&[u8]>> {
    let mut ids = Vec::new();
    while let Some((&n, rest)) = v.split_first() {
        let n = n as usize;
        if n == 0 || n > rest.len() {
            return None;
        }
        ids.push(&rest[..n]);
        v = &rest[n..];
    }
    Some(ids)
}

/// Lowercase hex without separators.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Writes bytes as zone-file text: printable ASCII as is, `\DDD` otherwise, and a backslash
/// before every byte in `special`.
fn escaped(f: &mut impl fmt::Write, bytes: &[u8], special: &[u8]) -> fmt::Result {
    for &b in bytes {
        if special.contains(&b) {
            f.write_char('\\')?;
            f.write_char(b as char)?;
        } else if (0x20..=0x7e).contains(&b) {
            f.write_char(b as char)?;
        } else {
            write!(f, "\\{b:03}")?;
        }
    }
    Ok(())
}

fn quoted(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_char('"')?;
    escaped(f, bytes, b"\"\\")?;
    f.write_char('"')
}

fn svc_param(f: &mut fmt::Formatter<'_>, key: u16, v: &[u8]) -> fmt::Result {
    f.write_str(&mnemonic::svc_param_key(key))?;
    if v.is_empty() {
        return Ok(());
    }
    f.write_char('=')?;
    match key {
        0 => {
            for (i, k) in v.chunks_exact(2).enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                f.write_str(&mnemonic::svc_param_key(u16::from_be_bytes([k[0], k[1]])))?;
            }
        }
        1 => match alpn_ids(v) {
            Some(ids) => {
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    escaped(f, id, b",\\\"")?;
                }
            }
            None => f.write_str(&hex(v))?,
        },
        3 if v.len() == 2 => write!(f, "{}", u16::from_be_bytes([v[0], v[1]]))?,
        4 => {
            for (i, a) in v.chunks_exact(4).enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write!(f, "{}", Ipv4Addr::new(a[0], a[1], a[2], a[3]))?;
            }
        }
        5 => f.write_str(&base64::engine::general_purpose::STANDARD.encode(v))?,
        6 => {
            for (i, a) in v.chunks_exact(16).enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                let mut b = [0u8; 16];
                b.copy_from_slice(a);
                write!(f, "{}", Ipv6Addr::from(b))?;
            }
        }
        _ => escaped(f, v, b"\\\" ")?,
    }
    Ok(())
}

impl fmt::Display for RData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(a) => write!(f, "{a}"),
            RData::Aaaa(a) => write!(f, "{a}"),
            RData::Name(n) => f.write_str(n),
            RData::Mx { preference, exchange } => write!(f, "{preference} {exchange}"),
            RData::Txt(strings) => {
                for (i, s) in strings.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    quoted(f, s)?;
                }
                Ok(())
            }
            RData::Srv { priority, weight, port, target } => write!(f, "{priority} {weight} {port} {target}"),
            RData::Soa { mname, rname, serial, refresh, retry, expire, minimum } => {
                write!(f, "{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}")
            }
            RData::Caa { flags, tag, value } => {
                write!(f, "{flags} ")?;
                escaped(f, tag, b"\\\" ")?;
                f.write_char(' ')?;
                quoted(f, value)
            }
            RData::Svcb { priority, target, params } => {
                write!(f, "{priority} {target}")?;
                for (key, v) in params {
                    f.write_char(' ')?;
                    svc_param(f, *key, v)?;
                }
                Ok(())
            }
            RData::Opt(options) => {
                for (i, (code, v)) in options.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    write!(f, "{}={}", mnemonic::edns_option(*code), hex(v))?;
                }
                Ok(())
            }
            RData::Raw(b) => f.write_str(&hex(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `rdata` placed after a 12-byte header and the name "example.com" (at offset 12,
    /// so RDATA may point to it with \xc0\x0c).
    fn dec(rtype: u16, rdata: &[u8]) -> Result<RData, String> {
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(b"\x07example\x03com\x00");
        let start = msg.len();
        msg.extend_from_slice(rdata);
        decode(&msg, start, rdata.len(), rtype)
    }

    fn show(rtype: u16, rdata: &[u8]) -> String {
        dec(rtype, rdata).unwrap().to_string()
    }

    #[test]
    fn addresses() {
        assert_eq!(show(TYPE_A, b"\xc0\x00\x02\x01"), "192.0.2.1");
        // RFC 5952: lowercase, longest zero run compressed, leading zeros dropped.
        let v6 = b"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01";
        assert_eq!(show(TYPE_AAAA, v6), "2001:db8::1:0:0:1");
        assert_eq!(show(TYPE_AAAA, &[0; 16]), "::");
        assert!(dec(TYPE_A, b"\x01\x02\x03").is_err());
        assert!(dec(TYPE_AAAA, &[0; 15]).is_err());
    }

    #[test]
    fn names_with_compression() {
        assert_eq!(show(TYPE_CNAME, b"\x03www\xc0\x0c"), "www.example.com");
        assert_eq!(show(TYPE_NS, b"\x02ns\xc0\x0c"), "ns.example.com");
        assert_eq!(show(TYPE_PTR, b"\xc0\x0c"), "example.com");
        assert_eq!(show(TYPE_CNAME, b"\x00"), "<Root>");
        assert_eq!(show(TYPE_MX, b"\x00\x0a\x04mail\xc0\x0c"), "10 mail.example.com");
        assert_eq!(show(TYPE_SRV, b"\x00\x01\x00\x05\x1f\x90\x03web\xc0\x0c"), "1 5 8080 web.example.com");
        let soa = b"\x02ns\xc0\x0c\x0ahostmaster\xc0\x0c\x00\x00\x00\x01\x00\x00\x0e\x10\x00\x00\x02\x58\x00\x09\x3a\x80\x00\x00\x01\x2c";
        assert_eq!(show(TYPE_SOA, soa), "ns.example.com hostmaster.example.com 1 3600 600 604800 300");
    }

    #[test]
    fn names_must_end_inside_rdata() {
        // RDLENGTH 3 but the name "www" + pointer needs 6.
        assert!(dec(TYPE_CNAME, b"\x03ww").is_err());
        // A name followed by junk.
        let e = dec(TYPE_PTR, b"\xc0\x0c\x00").unwrap_err();
        assert_eq!(e, "1 bytes left over");
        // A pointer loop inside RDATA.
        assert!(dec(TYPE_CNAME, b"\x01a\xc0\x19").is_err());
        // SOA cut inside the numbers.
        assert!(dec(TYPE_SOA, b"\xc0\x0c\xc0\x0c\x00\x00\x00\x01").is_err());
    }

    #[test]
    fn txt_strings() {
        assert_eq!(show(TYPE_TXT, b"\x0bv=spf1 -all\x06second"), "\"v=spf1 -all\" \"second\"");
        assert_eq!(show(TYPE_TXT, b"\x05a\"b\\\x01"), "\"a\\\"b\\\\\\001\"");
        assert_eq!(show(TYPE_TXT, b"\x00"), "\"\"");
        assert!(dec(TYPE_TXT, b"\x05abc").is_err());
    }

    #[test]
    fn caa() {
        assert_eq!(show(TYPE_CAA, b"\x00\x05issueletsencrypt.org"), "0 issue \"letsencrypt.org\"");
        assert!(dec(TYPE_CAA, b"\x80\x00").is_err());
    }

    #[test]
    fn svcb_and_https() {
        // HTTPS 1 . alpn=h2,h3 port=8443 ipv4hint=192.0.2.1 ipv6hint=2001:db8::1 (RFC 9460 App. D style).
        let mut rd = b"\x00\x01\x00".to_vec();
        rd.extend_from_slice(b"\x00\x01\x00\x06\x02h2\x02h3");
        rd.extend_from_slice(b"\x00\x03\x00\x02\x20\xfb");
        rd.extend_from_slice(b"\x00\x04\x00\x04\xc0\x00\x02\x01");
        rd.extend_from_slice(b"\x00\x06\x00\x10\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01");
        assert_eq!(show(TYPE_HTTPS, &rd), "1 <Root> alpn=h2,h3 port=8443 ipv4hint=192.0.2.1 ipv6hint=2001:db8::1");
        // AliasMode to a compressed target, mandatory, no-default-alpn, ech, unknown key.
        let mut rd = b"\x00\x00\xc0\x0c".to_vec();
        assert_eq!(show(TYPE_SVCB, &rd), "0 example.com");
        rd.extend_from_slice(b"\x00\x00\x00\x02\x00\x01");
        rd.extend_from_slice(b"\x00\x02\x00\x00");
        rd.extend_from_slice(b"\x00\x05\x00\x03\x01\x02\x03");
        rd.extend_from_slice(b"\xfd\xe8\x00\x02a\x01");
        assert_eq!(show(TYPE_SVCB, &rd), "0 example.com mandatory=alpn no-default-alpn ech=AQID key65000=a\\001");
        // A port of 3 bytes and an alpn whose lengths do not add up are malformed.
        assert!(dec(TYPE_HTTPS, b"\x00\x01\x00\x00\x03\x00\x03\x00\x00\x01").is_err());
        assert!(dec(TYPE_HTTPS, b"\x00\x01\x00\x00\x01\x00\x02\x05h").is_err());
        // A param length past the end.
        assert!(dec(TYPE_HTTPS, b"\x00\x01\x00\x00\x01\x00\x09\x02h2").is_err());
    }

    #[test]
    fn opt_and_unknown() {
        assert_eq!(show(TYPE_OPT, b"\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08"), "COOKIE=0102030405060708");
        assert_eq!(show(TYPE_OPT, b""), "");
        assert!(dec(TYPE_OPT, b"\x00\x0a\x00\x09\x01").is_err());
        assert_eq!(show(65280, b"\xde\xad\xbe\xef"), "deadbeef");
        assert_eq!(show(13, b""), "");
    }
}
