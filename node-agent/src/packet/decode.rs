//! Frame -> TCP/UDP payload. The link layer is parsed by hand ([`link`]); IP (with IPv6 extension
//! headers and the IPv4 authentication header), TCP and UDP use etherparse's zero-copy lax slices,
//! which accept packets the snap length cut short. Nothing here allocates.
//!
//! IP fragments are not reassembled: a fragmented packet (IPv4 MF flag or offset, or an IPv6
//! fragment header that fragments) yields `Ok(None)`, even the first fragment that holds the
//! transport header.

mod link;

use super::{DecodeError, Decoded, TcpHeader, TransportHeader};
use crate::source::RawPacket;
use etherparse::err::{self, Layer, LenError};
use etherparse::{ip_number, LaxIpSlice, LenSource, TcpSlice, UdpSlice};
use link::{IpVersion, NetStart};
use std::net::IpAddr;

/// Decodes a captured frame down to its TCP or UDP payload.
///
/// `Ok(None)` for well-formed frames that carry nothing for us: non-IP link payloads (ARP, LLC,
/// netlink, ...), IP protocols other than TCP and UDP, and IP fragments. `Err` when a header is
/// malformed or cut short before the transport header ends.
pub fn decode<'a>(p: &RawPacket<'a>) -> Result<Option<Decoded<'a>>, DecodeError> {
    let frame = p.data;
    let Some(start) = link::net_start(p.link_type, frame)? else {
        return Ok(None);
    };
    let ip = frame.get(start.offset..).unwrap_or_default();
    check_version(ip, &start)?;

    let (ip_slice, ext_err) = LaxIpSlice::from_slice(ip).map_err(|e| ip_error(e, start.offset))?;
    if let Some((e, layer)) = ext_err {
        return Err(ext_error(e, layer, start.offset));
    }
    let ip_payload = ip_slice.payload();
    if ip_payload.fragmented {
        return Ok(None);
    }
    // Offset of the transport header in the frame, and the IP packet as far as it goes.
    let transport_offset = start.offset + offset_within(ip, ip_payload.payload);
    let ip_end = offset_within(ip, ip_payload.payload) + ip_payload.payload.len();
    let ip_packet = ip.get(..ip_end).unwrap_or(ip);
    // The IP length said more than was captured, or there was no usable IP length (IPv4 total
    // length 0 from segmentation offload, IPv6 jumbogram) and the capture was cut.
    let truncated = ip_payload.incomplete
        || (ip_payload.len_source == LenSource::Slice && (frame.len() as u64) < u64::from(p.orig_len));

    let (src_port, dst_port, transport, payload) = match ip_payload.ip_number {
        ip_number::TCP => {
            let tcp = TcpSlice::from_slice(ip_payload.payload).map_err(|e| tcp_error(e, transport_offset))?;
            let header = TcpHeader {
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                syn: tcp.syn(),
                ack_flag: tcp.ack(),
                fin: tcp.fin(),
                rst: tcp.rst(),
                window: tcp.window_size(),
            };
            (tcp.source_port(), tcp.destination_port(), TransportHeader::Tcp(header), tcp.payload())
        }
        ip_number::UDP => {
            // Lax: a UDP length beyond the captured bytes (snap length) or below 8 falls back to
            // what the IP layer delimits.
            let udp = UdpSlice::from_slice_lax(ip_payload.payload).map_err(|e| len_error(e, transport_offset))?;
            (udp.source_port(), udp.destination_port(), TransportHeader::Udp, udp.payload())
        }
        _ => return Ok(None),
    };

    Ok(Some(Decoded {
        ts: p.ts,
        src_ip: ip_slice.source_addr(),
        dst_ip: ip_slice.destination_addr(),
        src_port,
        dst_port,
        transport,
        payload,
        truncated,
        ip_packet,
    }))
}

/// The source and destination addresses of a frame's IP header, read without decoding further:
/// cheap enough to decide per packet whether it is wanted at all. `None` for frames that carry no
/// IP packet or whose IP header is cut short (the engine then decides what they are).
pub fn addresses(p: &RawPacket<'_>) -> Option<(IpAddr, IpAddr)> {
    let start = link::net_start(p.link_type, p.data).ok()??;
    let ip = p.data.get(start.offset..)?;
    let version = ip.first()? >> 4;
    match (version, start.version) {
        (4, IpVersion::V4 | IpVersion::Either) => {
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            Some((IpAddr::from(src), IpAddr::from(dst)))
        }
        (6, IpVersion::V6 | IpVersion::Either) => {
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            Some((IpAddr::from(src), IpAddr::from(dst)))
        }
        _ => None,
    }
}

/// The IP version nibble must agree with what the link header announced.
fn check_version(ip: &[u8], start: &NetStart) -> Result<(), DecodeError> {
    let Some(first) = ip.first() else {
        return Err(DecodeError::TruncatedHeader { layer: "ip", offset: start.offset, needed: 1, available: 0 });
    };
    let found = first >> 4;
    let expected = match start.version {
        IpVersion::V4 => 4,
        IpVersion::V6 => 6,
        IpVersion::Either => return Ok(()), // etherparse reports versions other than 4 and 6
    };
    if found == expected {
        Ok(())
    } else {
        Err(DecodeError::IpVersionMismatch { link: start.link, offset: start.offset, expected, found })
    }
}

/// Where `inner` (a sub-slice of `outer`) starts within `outer`.
fn offset_within(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize).min(outer.len())
}

fn ip_error(e: err::ip::LaxHeaderSliceError, ip_offset: usize) -> DecodeError {
    use err::ip::HeaderError as H;
    use err::ip::LaxHeaderSliceError as E;
    match e {
        E::Len(l) => len_error(l, ip_offset),
        E::Content(H::UnsupportedIpVersion { version_number }) => {
            DecodeError::UnknownIpVersion { offset: ip_offset, version: version_number }
        }
        E::Content(H::Ipv4HeaderLengthSmallerThanHeader { ihl }) => {
            DecodeError::Ipv4HeaderLength { offset: ip_offset, ihl }
        }
    }
}

fn ext_error(e: err::ipv6_exts::HeaderSliceError, layer: Layer, ip_offset: usize) -> DecodeError {
    use err::ipv6_exts::HeaderError as H;
    use err::ipv6_exts::HeaderSliceError as E;
    match e {
        // The LenError names the generic extension layer; the tuple names the actual header.
        E::Len(l) => DecodeError::TruncatedHeader {
            layer: layer_name(layer),
            offset: ip_offset + l.layer_start_offset,
            needed: l.required_len,
            available: l.len,
        },
        E::Content(H::HopByHopNotAtStart) => DecodeError::Malformed {
            layer: layer_name(layer),
            offset: ip_offset,
            what: "hop-by-hop options header not directly after the IPv6 header",
        },
        E::Content(H::IpAuth(err::ip_auth::HeaderError::ZeroPayloadLen)) => DecodeError::Malformed {
            layer: "ip auth",
            offset: ip_offset,
            what: "authentication header payload length is 0",
        },
    }
}

fn tcp_error(e: err::tcp::HeaderSliceError, tcp_offset: usize) -> DecodeError {
    match e {
        err::tcp::HeaderSliceError::Len(l) => len_error(l, tcp_offset),
        err::tcp::HeaderSliceError::Content(err::tcp::HeaderError::DataOffsetTooSmall { data_offset }) => {
            DecodeError::TcpDataOffset { offset: tcp_offset, data_offset }
        }
    }
}

/// An etherparse length error, its offset made relative to the frame (`base` is where the slice
/// given to etherparse started).
fn len_error(l: LenError, base: usize) -> DecodeError {
    DecodeError::TruncatedHeader {
        layer: layer_name(l.layer),
        offset: base + l.layer_start_offset,
        needed: l.required_len,
        available: l.len,
    }
}

fn layer_name(layer: Layer) -> &'static str {
    match layer {
        Layer::IpHeader => "ip",
        Layer::Ipv4Header | Layer::Ipv4Packet => "ipv4",
        Layer::IpAuthHeader => "ip auth",
        Layer::Ipv6Header | Layer::Ipv6Packet => "ipv6",
        Layer::Ipv6ExtHeader => "ipv6 extension",
        Layer::Ipv6HopByHopHeader => "ipv6 hop-by-hop",
        Layer::Ipv6DestOptionsHeader => "ipv6 destination options",
        Layer::Ipv6RouteHeader => "ipv6 routing",
        Layer::Ipv6FragHeader => "ipv6 fragment",
        Layer::UdpHeader | Layer::UdpPayload => "udp",
        Layer::TcpHeader => "tcp",
        _ => "other",
    }
}

#[cfg(test)]
mod tests;
