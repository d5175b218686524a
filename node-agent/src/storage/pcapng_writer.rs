//! A minimal pcapng writer: one section, one interface description block per link type
//! (nanosecond timestamps), enhanced packet blocks.

use crate::source::{LinkType, RawPacket};
use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_IF_TSRESOL: u16 = 9;

pub struct PcapngWriter<W: Write> {
    out: W,
    /// The link types that have an interface block; a packet's interface id is its position here.
    interfaces: Vec<LinkType>,
    bytes_written: u64,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut block = Vec::with_capacity(28);
        block.extend_from_slice(&SHB.to_le_bytes());
        block.extend_from_slice(&28u32.to_le_bytes());
        block.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        block.extend_from_slice(&1u16.to_le_bytes());
        block.extend_from_slice(&0u16.to_le_bytes());
        block.extend_from_slice(&(-1i64).to_le_bytes());
        block.extend_from_slice(&28u32.to_le_bytes());
        out.write_all(&block)?;
        Ok(PcapngWriter { out, interfaces: Vec::new(), bytes_written: block.len() as u64 })
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    fn interface_id(&mut self, link_type: LinkType) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|&l| l == link_type) {
            return Ok(i as u32);
        }
        // IDB with if_tsresol = 9 (nanoseconds) and end of options.
        let len = 32u32;
        let mut block = Vec::with_capacity(len as usize);
        block.extend_from_slice(&IDB.to_le_bytes());
        block.extend_from_slice(&len.to_le_bytes());
        block.extend_from_slice(&(link_type.linktype_number() as u16).to_le_bytes());
        block.extend_from_slice(&0u16.to_le_bytes());
        block.extend_from_slice(&0u32.to_le_bytes()); // snaplen: no limit
        block.extend_from_slice(&OPT_IF_TSRESOL.to_le_bytes());
        block.extend_from_slice(&1u16.to_le_bytes());
        block.extend_from_slice(&[9, 0, 0, 0]);
        block.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        block.extend_from_slice(&len.to_le_bytes());
        self.out.write_all(&block)?;
        self.bytes_written += len as u64;
        self.interfaces.push(link_type);
        Ok(self.interfaces.len() as u32 - 1)
    }

    pub fn write_packet(&mut self, p: &RawPacket<'_>) -> io::Result<()> {
        let interface = self.interface_id(p.link_type)?;
        let captured = p.data.len() as u32;
        let padded = (captured as usize).div_ceil(4) * 4;
        let len = 32 + padded as u32;
        let ts = p.ts.as_nanos();
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&EPB.to_le_bytes());
        head[4..8].copy_from_slice(&len.to_le_bytes());
        head[8..12].copy_from_slice(&interface.to_le_bytes());
        head[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
        head[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
        head[20..24].copy_from_slice(&captured.to_le_bytes());
        head[24..28].copy_from_slice(&p.orig_len.max(captured).to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(p.data)?;
        self.out.write_all(&[0u8; 3][..padded - captured as usize])?;
        self.out.write_all(&len.to_le_bytes())?;
        self.bytes_written += len as u64;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
