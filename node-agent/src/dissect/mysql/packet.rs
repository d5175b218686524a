//! The MySQL client/server protocol's wire format, without state: the packet header, the basic
//! types (fixed and length-encoded integers and strings), and the payloads the session needs
//! (greeting, handshake response, OK, ERR, EOF, column definition, prepare OK). Facts from the
//! MySQL "Client/Server Protocol" reference and MariaDB's "Clients & Connectors / Protocol" pages.
//!
//! Every reader works on a borrowed payload and fails with [`Malformed`] instead of panicking.

use thiserror::Error;

/// Bytes of a packet header: 3-byte little-endian payload length and a sequence id.
pub const HEADER_LEN: usize = 4;
/// A payload of this length continues in the next packet (payloads of 16 MiB and more are split).
pub const MAX_PAYLOAD: usize = 0xFF_FFFF;

// Capability flags (the ones the dissector looks at).
pub const CLIENT_CONNECT_WITH_DB: u32 = 0x0000_0008;
pub const CLIENT_COMPRESS: u32 = 0x0000_0020;
pub const CLIENT_LOCAL_FILES: u32 = 0x0000_0080;
pub const CLIENT_PROTOCOL_41: u32 = 0x0000_0200;
pub const CLIENT_SSL: u32 = 0x0000_0800;
pub const CLIENT_SECURE_CONNECTION: u32 = 0x0000_8000;
pub const CLIENT_MULTI_STATEMENTS: u32 = 0x0001_0000;
pub const CLIENT_MULTI_RESULTS: u32 = 0x0002_0000;
pub const CLIENT_PLUGIN_AUTH: u32 = 0x0008_0000;
pub const CLIENT_CONNECT_ATTRS: u32 = 0x0010_0000;
pub const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 0x0020_0000;
pub const CLIENT_SESSION_TRACK: u32 = 0x0080_0000;
pub const CLIENT_DEPRECATE_EOF: u32 = 0x0100_0000;
pub const CLIENT_OPTIONAL_RESULTSET_METADATA: u32 = 0x0200_0000;
pub const CLIENT_ZSTD_COMPRESSION: u32 = 0x0400_0000;

/// Names of the capability bits, for the entry (bit i names `1 << i`).
const CAPABILITY_NAMES: [&str; 27] = [
    "LONG_PASSWORD",
    "FOUND_ROWS",
    "LONG_FLAG",
    "CONNECT_WITH_DB",
    "NO_SCHEMA",
    "COMPRESS",
    "ODBC",
    "LOCAL_FILES",
    "IGNORE_SPACE",
    "PROTOCOL_41",
    "INTERACTIVE",
    "SSL",
    "IGNORE_SIGPIPE",
    "TRANSACTIONS",
    "RESERVED",
    "SECURE_CONNECTION",
    "MULTI_STATEMENTS",
    "MULTI_RESULTS",
    "PS_MULTI_RESULTS",
    "PLUGIN_AUTH",
    "CONNECT_ATTRS",
    "PLUGIN_AUTH_LENENC_CLIENT_DATA",
    "CAN_HANDLE_EXPIRED_PASSWORDS",
    "SESSION_TRACK",
    "DEPRECATE_EOF",
    "OPTIONAL_RESULTSET_METADATA",
    "ZSTD_COMPRESSION_ALGORITHM",
];

/// The names of the set capability bits (unnamed bits as `BIT<n>`).
pub fn capability_names(caps: u32) -> Vec<String> {
    (0..32)
        .filter(|bit| caps & (1u32 << bit) != 0)
        .map(|bit| match CAPABILITY_NAMES.get(bit as usize) {
            Some(name) => (*name).to_owned(),
            None => format!("BIT{bit}"),
        })
        .collect()
}

// Server status flags.
pub const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;
pub const SERVER_STATUS_CURSOR_EXISTS: u16 = 0x0040;

/// A payload that does not have the shape its position calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("malformed MySQL {what}: {why}")]
pub struct Malformed {
    pub what: &'static str,
    pub why: &'static str,
}

/// The packet header at the start of `head`, if four bytes are there: (payload length, sequence id).
pub fn header(head: &[u8]) -> Option<(usize, u8)> {
    match head {
        [a, b, c, seq, ..] => Some((usize::from(*a) | usize::from(*b) << 8 | usize::from(*c) << 16, *seq)),
        _ => None,
    }
}

/// A reader over one payload.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(payload: &'a [u8], what: &'static str) -> Self {
        Reader { rest: payload, what }
    }

    fn err(&self, why: &'static str) -> Malformed {
        Malformed { what: self.what, why }
    }

    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.rest.len() {
            return Err(self.err("ends early"));
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    pub fn skip(&mut self, n: usize) -> Result<(), Malformed> {
        self.bytes(n).map(|_| ())
    }

    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.bytes(1)?.first().copied().unwrap_or_default())
    }

    pub fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self) -> Result<u32, Malformed> {
        let b = self.bytes(3)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }

    pub fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-encoded integer; `None` for the NULL marker 0xFB.
    pub fn lenenc(&mut self) -> Result<Option<u64>, Malformed> {
        match self.u8()? {
            0xFB => Ok(None),
            0xFC => Ok(Some(u64::from(self.u16()?))),
            0xFD => Ok(Some(u64::from(self.u24()?))),
            0xFE => Ok(Some(self.u64()?)),
            0xFF => Err(self.err("0xFF is not a length-encoded integer")),
            n => Ok(Some(u64::from(n))),
        }
    }

    /// A length-encoded integer that must not be NULL.
    pub fn lenenc_int(&mut self) -> Result<u64, Malformed> {
        self.lenenc()?.ok_or_else(|| self.err("NULL where a number is expected"))
    }

    /// A length-encoded string; `None` for NULL.
    pub fn lenenc_str(&mut self) -> Result<Option<&'a [u8]>, Malformed> {
        match self.lenenc()? {
            None => Ok(None),
            Some(n) => {
                let n = usize::try_from(n).map_err(|_| self.err("string longer than memory"))?;
                self.bytes(n).map(Some)
            }
        }
    }

    /// A NUL-terminated string (without the NUL).
    pub fn nul_str(&mut self) -> Result<&'a [u8], Malformed> {
        let end = self.rest.iter().position(|&b| b == 0).ok_or_else(|| self.err("string without its NUL"))?;
        let s = self.bytes(end)?;
        self.skip(1)?;
        Ok(s)
    }

    /// A NUL-terminated string, or the rest when the NUL is missing (servers and clients differ).
    pub fn nul_or_rest(&mut self) -> &'a [u8] {
        match self.rest.iter().position(|&b| b == 0) {
            Some(end) => {
                let (s, rest) = self.rest.split_at(end);
                self.rest = rest.get(1..).unwrap_or_default();
                s
            }
            None => std::mem::take(&mut self.rest),
        }
    }
}

/// Text for the entry: lossy UTF-8, at most `limit` bytes (cut at a character boundary).
pub fn text(bytes: &[u8], limit: usize) -> (String, bool) {
    let truncated = bytes.len() > limit;
    let kept = bytes.get(..limit.min(bytes.len())).unwrap_or_default();
    let mut s = String::from_utf8_lossy(kept).into_owned();
    if truncated && s.ends_with('\u{FFFD}') {
        // A character cut by the limit.
        s.pop();
    }
    (s, truncated)
}

/// The server's first packet (protocol version 10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting<'a> {
    pub server_version: &'a [u8],
    pub connection_id: u32,
    pub capabilities: u32,
    pub charset: Option<u8>,
    pub auth_plugin: Option<&'a [u8]>,
}

impl<'a> Greeting<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(payload, "server greeting");
        if r.u8()? != 10 {
            return Err(r.err("protocol version is not 10"));
        }
        let server_version = r.nul_str()?;
        let connection_id = r.u32()?;
        r.skip(8)?; // auth-plugin-data part 1: never shown
        r.skip(1)?;
        let mut capabilities = u32::from(r.u16()?);
        let mut charset = None;
        let mut auth_plugin = None;
        if !r.is_empty() {
            charset = Some(r.u8()?);
            r.skip(2)?; // status flags
            capabilities |= u32::from(r.u16()?) << 16;
            let auth_len = r.u8()?;
            r.skip(10)?;
            if capabilities & CLIENT_SECURE_CONNECTION != 0 {
                let part2 = usize::from(auth_len).saturating_sub(8).max(13);
                r.skip(part2.min(r.remaining().len()))?;
            }
            if capabilities & CLIENT_PLUGIN_AUTH != 0 {
                auth_plugin = Some(r.nul_or_rest());
            }
        }
        Ok(Greeting { server_version, connection_id, capabilities, charset, auth_plugin })
    }
}

/// The client's answer to the greeting: a handshake response, or an SSL request (its first 32
/// bytes alone) before the TLS handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login<'a> {
    pub capabilities: u32,
    pub max_packet: u32,
    pub charset: u8,
    /// Only an SSL request: the client switches to TLS now.
    pub ssl_request: bool,
    pub user: Option<&'a [u8]>,
    pub database: Option<&'a [u8]>,
    pub auth_plugin: Option<&'a [u8]>,
}

impl<'a> Login<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(payload, "handshake response");
        let low = r.u16()?;
        if u32::from(low) & CLIENT_PROTOCOL_41 == 0 {
            // Protocol 320: 2-byte capabilities, 3-byte max packet, user NUL, auth.
            let max_packet = r.u24()?;
            let ssl_request = u32::from(low) & CLIENT_SSL != 0 && r.is_empty();
            let user = if r.is_empty() { None } else { Some(r.nul_or_rest()) };
            return Ok(Login {
                capabilities: u32::from(low),
                max_packet,
                charset: 0,
                ssl_request,
                user,
                database: None,
                auth_plugin: None,
            });
        }
        let capabilities = u32::from(low) | u32::from(r.u16()?) << 16;
        let max_packet = r.u32()?;
        let charset = r.u8()?;
        r.skip(23)?;
        if r.is_empty() {
            if capabilities & CLIENT_SSL == 0 {
                return Err(r.err("ends after the fixed part without asking for SSL"));
            }
            return Ok(Login {
                capabilities,
                max_packet,
                charset,
                ssl_request: true,
                user: None,
                database: None,
                auth_plugin: None,
            });
        }
        let user = Some(r.nul_str()?);
        // The auth response: skipped, never shown.
        if capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
            r.lenenc_str()?;
        } else if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let n = r.u8()?;
            r.skip(usize::from(n))?;
        } else {
            r.nul_or_rest();
        }
        let mut database = None;
        if capabilities & CLIENT_CONNECT_WITH_DB != 0 && !r.is_empty() {
            database = Some(r.nul_or_rest());
        }
        let mut auth_plugin = None;
        if capabilities & CLIENT_PLUGIN_AUTH != 0 && !r.is_empty() {
            auth_plugin = Some(r.nul_or_rest());
        }
        Ok(Login { capabilities, max_packet, charset, ssl_request: false, user, database, auth_plugin })
    }
}

/// An OK packet (0x00, or 0xFE where it replaces EOF).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OkPacket<'a> {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub status: u16,
    pub warnings: u16,
    pub info: &'a [u8],
}

impl<'a> OkPacket<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(payload, "OK packet");
        let first = r.u8()?;
        if first != 0x00 && first != 0xFE {
            return Err(r.err("does not start with 0x00 or 0xFE"));
        }
        let affected_rows = r.lenenc_int()?;
        let last_insert_id = r.lenenc_int()?;
        let (status, warnings) = if r.remaining().len() >= 4 { (r.u16()?, r.u16()?) } else { (0, 0) };
        // The info text; with session tracking it is length-encoded and state changes follow.
        let info = r.remaining();
        let info = match info.first() {
            Some(&n) if usize::from(n) < 0xFB && usize::from(n) < info.len() && info.get(1) != Some(&0) => {
                info.get(1..1 + usize::from(n)).unwrap_or(info)
            }
            _ => info,
        };
        Ok(OkPacket { affected_rows, last_insert_id, status, warnings, info })
    }
}

/// An EOF packet (0xFE, under 9 bytes): warnings and status flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EofPacket {
    pub warnings: u16,
    pub status: u16,
}

impl EofPacket {
    pub fn parse(payload: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(payload, "EOF packet");
        if r.u8()? != 0xFE {
            return Err(r.err("does not start with 0xFE"));
        }
        if r.remaining().len() < 4 {
            return Ok(EofPacket { warnings: 0, status: 0 });
        }
        Ok(EofPacket { warnings: r.u16()?, status: r.u16()? })
    }
}

/// Whether a packet where a row or an end may come is an EOF packet (not a row): 0xFE and under 9
/// bytes (a row starting with 0xFE carries an 8-byte length after it).
pub fn is_eof(payload: &[u8]) -> bool {
    payload.first() == Some(&0xFE) && payload.len() < 9
}

/// Whether a packet ends the rows of a result set: an EOF, or (with `CLIENT_DEPRECATE_EOF`) an
/// OK packet headed 0xFE, which is shorter than a 16 MiB packet (a row headed 0xFE never is).
pub fn is_rows_end(payload: &[u8], whole_len: usize) -> bool {
    payload.first() == Some(&0xFE) && whole_len < MAX_PAYLOAD
}

/// An ERR packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrPacket<'a> {
    pub code: u16,
    pub sqlstate: Option<&'a [u8]>,
    pub message: &'a [u8],
}

impl<'a> ErrPacket<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(payload, "ERR packet");
        if r.u8()? != 0xFF {
            return Err(r.err("does not start with 0xFF"));
        }
        let code = r.u16()?;
        let mut sqlstate = None;
        if r.remaining().first() == Some(&b'#') && r.remaining().len() >= 6 {
            r.skip(1)?;
            sqlstate = Some(r.bytes(5)?);
        }
        Ok(ErrPacket { code, sqlstate, message: r.remaining() })
    }
}

/// One column definition (protocol 4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef<'a> {
    pub name: &'a [u8],
    pub column_type: u8,
    pub flags: u16,
}

/// Column flag: the value is unsigned.
pub const UNSIGNED_FLAG: u16 = 0x0020;

impl<'a> ColumnDef<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(payload, "column definition");
        for _ in 0..4 {
            r.lenenc_str()?; // catalog, schema, table, original table
        }
        let name = r.lenenc_str()?.unwrap_or_default();
        r.lenenc_str()?; // original name
        if !(r.remaining().len() == 13 && r.remaining().first() == Some(&0x0C)) {
            // MariaDB's extended metadata (MARIADB_CLIENT_EXTENDED_METADATA): a length-encoded
            // type information string before the fixed fields.
            r.lenenc_str()?;
        }
        r.lenenc_int()?; // length of the fixed fields (0x0C)
        r.skip(2)?; // character set
        r.skip(4)?; // column length
        let column_type = r.u8()?;
        let flags = r.u16()?;
        Ok(ColumnDef { name, column_type, flags })
    }

    /// Whether a payload starts like a column definition: catalog "def".
    pub fn looks_like(payload: &[u8]) -> bool {
        payload.starts_with(b"\x03def")
    }
}

/// The answer to COM_STMT_PREPARE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepareOk {
    pub statement_id: u32,
    pub columns: u16,
    pub params: u16,
    pub warnings: u16,
}

impl PrepareOk {
    pub fn parse(payload: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(payload, "COM_STMT_PREPARE OK");
        if r.u8()? != 0 {
            return Err(r.err("does not start with 0x00"));
        }
        let statement_id = r.u32()?;
        let columns = r.u16()?;
        let params = r.u16()?;
        let warnings = if r.remaining().len() >= 3 {
            r.skip(1)?;
            r.u16()?
        } else {
            0
        };
        Ok(PrepareOk { statement_id, columns, params, warnings })
    }
}

/// Name of a column or parameter type code.
pub fn type_name(code: u8) -> &'static str {
    match code {
        0x00 => "DECIMAL",
        0x01 => "TINY",
        0x02 => "SHORT",
        0x03 => "LONG",
        0x04 => "FLOAT",
        0x05 => "DOUBLE",
        0x06 => "NULL",
        0x07 => "TIMESTAMP",
        0x08 => "LONGLONG",
        0x09 => "INT24",
        0x0A => "DATE",
        0x0B => "TIME",
        0x0C => "DATETIME",
        0x0D => "YEAR",
        0x0E => "NEWDATE",
        0x0F => "VARCHAR",
        0x10 => "BIT",
        0x11 => "TIMESTAMP2",
        0x12 => "DATETIME2",
        0x13 => "TIME2",
        0xF5 => "JSON",
        0xF6 => "NEWDECIMAL",
        0xF7 => "ENUM",
        0xF8 => "SET",
        0xF9 => "TINY_BLOB",
        0xFA => "MEDIUM_BLOB",
        0xFB => "LONG_BLOB",
        0xFC => "BLOB",
        0xFD => "VAR_STRING",
        0xFE => "STRING",
        0xFF => "GEOMETRY",
        _ => "UNKNOWN",
    }
}

/// Command byte values and names.
pub fn command_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x00 => "COM_SLEEP",
        0x01 => "COM_QUIT",
        0x02 => "COM_INIT_DB",
        0x03 => "COM_QUERY",
        0x04 => "COM_FIELD_LIST",
        0x05 => "COM_CREATE_DB",
        0x06 => "COM_DROP_DB",
        0x07 => "COM_REFRESH",
        0x08 => "COM_SHUTDOWN",
        0x09 => "COM_STATISTICS",
        0x0A => "COM_PROCESS_INFO",
        0x0B => "COM_CONNECT",
        0x0C => "COM_PROCESS_KILL",
        0x0D => "COM_DEBUG",
        0x0E => "COM_PING",
        0x0F => "COM_TIME",
        0x10 => "COM_DELAYED_INSERT",
        0x11 => "COM_CHANGE_USER",
        0x12 => "COM_BINLOG_DUMP",
        0x13 => "COM_TABLE_DUMP",
        0x14 => "COM_CONNECT_OUT",
        0x15 => "COM_REGISTER_SLAVE",
        0x16 => "COM_STMT_PREPARE",
        0x17 => "COM_STMT_EXECUTE",
        0x18 => "COM_STMT_SEND_LONG_DATA",
        0x19 => "COM_STMT_CLOSE",
        0x1A => "COM_STMT_RESET",
        0x1B => "COM_SET_OPTION",
        0x1C => "COM_STMT_FETCH",
        0x1D => "COM_DAEMON",
        0x1E => "COM_BINLOG_DUMP_GTID",
        0x1F => "COM_RESET_CONNECTION",
        0xFA => "COM_STMT_BULK_EXECUTE",
        _ => return None,
    })
}

pub const COM_QUIT: u8 = 0x01;
pub const COM_INIT_DB: u8 = 0x02;
pub const COM_QUERY: u8 = 0x03;
pub const COM_FIELD_LIST: u8 = 0x04;
pub const COM_STATISTICS: u8 = 0x09;
pub const COM_PING: u8 = 0x0E;
pub const COM_CHANGE_USER: u8 = 0x11;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;
pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
pub const COM_STMT_CLOSE: u8 = 0x19;
pub const COM_STMT_RESET: u8 = 0x1A;
pub const COM_SET_OPTION: u8 = 0x1B;
pub const COM_STMT_FETCH: u8 = 0x1C;
pub const COM_BINLOG_DUMP: u8 = 0x12;
pub const COM_BINLOG_DUMP_GTID: u8 = 0x1E;
