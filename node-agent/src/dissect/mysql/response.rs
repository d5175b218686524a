//! Following one command's response packet by packet: OK, ERR, EOF, text and binary result sets
//! (with or without `CLIENT_DEPRECATE_EOF`: an EOF right after the column definitions is taken
//! when it comes, so the capabilities need not be known), several result sets in a row
//! (`SERVER_MORE_RESULTS_EXISTS`), the LOAD DATA LOCAL request, and the answer to
//! COM_STMT_PREPARE. Only summaries are kept: the columns, the first rows (bounded), the exact row
//! count.

use super::framing::Packet;
use super::json::{self, ErrorRecord};
use super::packet::{self, ColumnDef, EofPacket, ErrPacket, OkPacket, PrepareOk, Reader};
use super::session::Statement;
use super::values;
use super::Limits;
use crate::time::Timestamp;
use serde_json::Value;

/// Notes kept per response.
pub const MAX_NOTES: usize = 8;

/// What kind of response the command calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// OK, ERR, a LOCAL INFILE request, or text result sets.
    Generic,
    /// OK, ERR or binary result sets (COM_STMT_EXECUTE); the statement's columns as its prepare
    /// described them, for a result whose column definitions are not sent again.
    Binary { cached: Vec<Column> },
    /// COM_STMT_PREPARE: its OK, then parameter and column definitions.
    Prepare { sql: String },
    /// COM_STMT_FETCH: binary rows whose types are not followed.
    Fetch,
    /// COM_STATISTICS: one string.
    Text,
    /// COM_FIELD_LIST: column definitions up to an EOF.
    FieldList,
    /// COM_CHANGE_USER: authentication until OK or ERR.
    Auth,
}

/// Where the response stands after a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    More,
    /// The server asked for a local file: the client's next packets are its content.
    LocalInfile,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    First,
    Columns {
        left: u64,
    },
    AfterColumns,
    Rows,
    /// After the LOCAL INFILE request: the OK or ERR once the file was sent.
    Infile,
    PrepareDefs {
        left: u32,
    },
    FieldList,
    Auth,
    Done,
}

/// One column: name, type code, unsigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_code: u8,
    pub unsigned: bool,
}

/// One result of a response (an OK or a result set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<Column>,
    /// Columns announced (may exceed the ones kept).
    pub column_count: u64,
    pub rows: Vec<Vec<Value>>,
    pub row_count: u64,
    pub affected_rows: Option<u64>,
    pub last_insert_id: Option<u64>,
    pub warnings: u16,
    pub info: Option<String>,
    pub local_infile: Option<String>,
    pub is_result_set: bool,
    /// An EOF followed the column definitions (so the rows end with EOF, not OK).
    eof_after_columns: bool,
    held: usize,
}

/// A command's response as far as it arrived.
#[derive(Debug)]
pub struct Response {
    expect: Expect,
    limits: Limits,
    stage: Stage,
    started: bool,
    pub size: u64,
    pub end_ts: Option<crate::time::Timestamp>,
    /// Results before the current one (bounded).
    pub results: Vec<ResultSet>,
    /// Results in all, the current one included.
    pub result_count: u64,
    pub current: ResultSet,
    pub error: Option<ErrorRecord>,
    pub prepare: Option<PrepareOk>,
    pub text: Option<String>,
    pub notes: Vec<String>,
}

impl Response {
    pub fn new(expect: Expect, limits: Limits) -> Self {
        Response {
            expect,
            limits,
            stage: Stage::First,
            started: false,
            size: 0,
            end_ts: None,
            results: Vec::new(),
            result_count: 0,
            current: ResultSet::default(),
            error: None,
            prepare: None,
            text: None,
            notes: Vec::new(),
        }
    }

    pub fn started(&self) -> bool {
        self.started
    }

    pub fn held_bytes(&self) -> usize {
        let cached = match &self.expect {
            Expect::Binary { cached } => cached.iter().map(|c| c.name.len() + 32).sum(),
            _ => 0,
        };
        cached + self.current.held + self.results.iter().map(|r| r.held).sum::<usize>()
    }

    /// The SQL of a COM_STMT_PREPARE waiting for (or reading) its answer.
    pub fn prepare_sql(&self) -> Option<&str> {
        match &self.expect {
            Expect::Prepare { sql } if self.stage != Stage::Done => Some(sql),
            _ => None,
        }
    }

    /// The columns of the statement an execution runs, learnt after the execution was sent.
    pub fn set_cached(&mut self, columns: Vec<Column>) {
        if let Expect::Binary { cached } = &mut self.expect {
            *cached = columns;
        }
    }

    /// The statement a COM_STMT_PREPARE response defined.
    pub fn prepared(&self) -> Option<(u32, Statement)> {
        let (Expect::Prepare { sql }, Some(ok)) = (&self.expect, self.prepare) else { return None };
        let columns = self.current.columns.clone();
        Some((ok.statement_id, Statement { sql: sql.clone(), params: ok.params, types: Vec::new(), columns }))
    }

    pub fn push(&mut self, p: &Packet<'_>, seg_ts: Timestamp) -> Progress {
        self.started = true;
        self.size += p.wire;
        self.end_ts = Some(seg_ts);
        let progress = self.step(p);
        if progress == Progress::Done {
            self.stage = Stage::Done;
        }
        progress
    }

    fn step(&mut self, p: &Packet<'_>) -> Progress {
        let payload = p.payload;
        let first = payload.first().copied();
        match self.stage {
            Stage::Done => Progress::Done,
            Stage::First => {
                self.result_count += 1;
                match (first, &self.expect) {
                    (Some(0xFF), _) => self.error(payload),
                    (_, Expect::Text) => {
                        self.text = Some(packet::text(payload, self.limits.cell).0);
                        Progress::Done
                    }
                    (Some(0x00), Expect::Prepare { .. }) => match PrepareOk::parse(payload) {
                        Ok(ok) => {
                            self.prepare = Some(ok);
                            self.current.warnings = ok.warnings;
                            let left = u32::from(ok.params) + u32::from(ok.columns);
                            if left == 0 {
                                return Progress::Done;
                            }
                            self.stage = Stage::PrepareDefs { left };
                            Progress::More
                        }
                        Err(e) => self.malformed(e),
                    },
                    (_, Expect::Fetch) => {
                        // Rows of the cursor straight away, up to an EOF.
                        self.current.is_result_set = true;
                        self.stage = Stage::Rows;
                        self.step(p)
                    }
                    (_, Expect::Auth) => {
                        self.stage = Stage::Auth;
                        self.step(p)
                    }
                    (Some(0x00), _) => self.ok(payload),
                    (Some(0xFE), _) if packet::is_eof(payload) => {
                        // COM_SET_OPTION and COM_DEBUG answer with an EOF.
                        self.eof(payload);
                        Progress::Done
                    }
                    (Some(0xFB), Expect::Generic) => {
                        let name = payload.get(1..).unwrap_or_default();
                        self.current.local_infile = Some(packet::text(name, 1024).0);
                        self.stage = Stage::Infile;
                        Progress::LocalInfile
                    }
                    (_, Expect::FieldList) => {
                        self.stage = Stage::FieldList;
                        self.step(p)
                    }
                    _ => match self.column_count(payload) {
                        Ok((n, false)) => {
                            // Column definitions not sent again (MariaDB's cached metadata, MySQL's
                            // optional result set metadata): the prepare's, when it was seen.
                            self.current.is_result_set = true;
                            self.current.column_count = n;
                            if let Expect::Binary { cached } = &self.expect {
                                self.current.columns = cached.clone();
                                self.current.held += cached.iter().map(|c| c.name.len() + 32).sum::<usize>();
                            }
                            self.stage = Stage::AfterColumns;
                            Progress::More
                        }
                        Ok((n, true)) if n > 0 => {
                            self.current.is_result_set = true;
                            self.current.column_count = n;
                            self.stage = Stage::Columns { left: n };
                            Progress::More
                        }
                        Ok(_) => self.malformed(packet::Malformed { what: "column count", why: "zero columns" }),
                        Err(e) => self.malformed(e),
                    },
                }
            }
            Stage::Columns { left } => {
                if first == Some(0xFF) {
                    return self.error(payload);
                }
                match ColumnDef::parse(payload) {
                    Ok(def) if self.current.columns.len() < self.limits.columns => {
                        let name = packet::text(def.name, 256).0;
                        self.current.held += name.len() + 32;
                        self.current.columns.push(Column {
                            name,
                            type_code: def.column_type,
                            unsigned: def.flags & packet::UNSIGNED_FLAG != 0,
                        });
                    }
                    Ok(_) => {}
                    Err(e) => self.note(e.to_string()),
                }
                self.stage = if left <= 1 { Stage::AfterColumns } else { Stage::Columns { left: left - 1 } };
                Progress::More
            }
            Stage::AfterColumns => {
                self.stage = Stage::Rows;
                if packet::is_eof(payload) {
                    self.current.eof_after_columns = true;
                    let eof = EofPacket::parse(payload).unwrap_or(EofPacket { warnings: 0, status: 0 });
                    if eof.status & packet::SERVER_STATUS_CURSOR_EXISTS != 0 {
                        // Rows come with COM_STMT_FETCH.
                        self.current.warnings = eof.warnings;
                        return Progress::Done;
                    }
                    return Progress::More;
                }
                self.step(p)
            }
            Stage::Rows => {
                if first == Some(0xFF) {
                    return self.error(payload);
                }
                if packet::is_rows_end(payload, p.len) {
                    let status = if self.current.eof_after_columns || packet::is_eof(payload) && p.len == 5 {
                        self.eof(payload)
                    } else {
                        match OkPacket::parse(payload) {
                            Ok(ok) => {
                                self.current.warnings = ok.warnings;
                                ok.status
                            }
                            Err(e) => {
                                self.note(e.to_string());
                                0
                            }
                        }
                    };
                    return self.end_result(status);
                }
                self.row(p);
                Progress::More
            }
            Stage::Infile => match first {
                Some(0xFF) => self.error(payload),
                _ => self.ok(payload),
            },
            Stage::PrepareDefs { left } => {
                if first == Some(0xFF) {
                    return self.error(payload);
                }
                if packet::is_eof(payload) {
                    return Progress::More;
                }
                let columns = self.prepare.map_or(0, |ok| u32::from(ok.columns));
                if left <= columns && self.current.columns.len() < self.limits.columns {
                    // The result columns come after the parameters: kept for executions whose
                    // results do not repeat them.
                    if let Ok(def) = ColumnDef::parse(payload) {
                        let name = packet::text(def.name, 256).0;
                        self.current.held += name.len() + 32;
                        self.current.columns.push(Column {
                            name,
                            type_code: def.column_type,
                            unsigned: def.flags & packet::UNSIGNED_FLAG != 0,
                        });
                    }
                }
                if left <= 1 {
                    return Progress::Done;
                }
                self.stage = Stage::PrepareDefs { left: left - 1 };
                Progress::More
            }
            Stage::FieldList => match first {
                Some(0xFF) => self.error(payload),
                _ if packet::is_eof(payload) => Progress::Done,
                _ => {
                    self.current.column_count += 1;
                    Progress::More
                }
            },
            Stage::Auth => match first {
                Some(0x00) => self.ok(payload),
                Some(0xFF) => self.error(payload),
                _ => Progress::More,
            },
        }
    }

    /// A column count packet: the count, and whether column definitions follow (a single byte
    /// after the count says so when MariaDB's `MARIADB_CLIENT_CACHE_METADATA` or MySQL's
    /// `CLIENT_OPTIONAL_RESULTSET_METADATA` was negotiated; 0 means they do not).
    fn column_count(&self, payload: &[u8]) -> Result<(u64, bool), packet::Malformed> {
        let mut r = Reader::new(payload, "column count");
        let n = r.lenenc_int()?;
        Ok(match r.remaining() {
            [0] => (n, false),
            _ => (n, true),
        })
    }

    fn malformed(&mut self, e: packet::Malformed) -> Progress {
        self.note(e.to_string());
        Progress::Done
    }

    /// Adds a note, up to [`MAX_NOTES`] per response.
    fn note(&mut self, note: String) {
        if self.notes.len() < MAX_NOTES && !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    fn error(&mut self, payload: &[u8]) -> Progress {
        match ErrPacket::parse(payload) {
            Ok(e) => self.error = Some(json::error_record(&e)),
            Err(e) => self.note(e.to_string()),
        }
        if !self.current.is_result_set && self.current.affected_rows.is_none() {
            // The error is the whole result: not counted as a result of its own.
            self.result_count = self.result_count.saturating_sub(1);
        } else {
            self.finish_result();
        }
        Progress::Done
    }

    fn ok(&mut self, payload: &[u8]) -> Progress {
        match OkPacket::parse(payload) {
            Ok(ok) => {
                self.current.affected_rows = Some(ok.affected_rows);
                self.current.last_insert_id = Some(ok.last_insert_id);
                self.current.warnings = ok.warnings;
                if !ok.info.is_empty() {
                    self.current.info = Some(packet::text(ok.info, 256).0);
                }
                self.end_result(ok.status)
            }
            Err(e) => self.malformed(e),
        }
    }

    fn eof(&mut self, payload: &[u8]) -> u16 {
        match EofPacket::parse(payload) {
            Ok(eof) => {
                self.current.warnings = eof.warnings;
                eof.status
            }
            Err(_) => 0,
        }
    }

    /// The current result ended with these status flags: another follows, or the response ends.
    fn end_result(&mut self, status: u16) -> Progress {
        if status & packet::SERVER_MORE_RESULTS_EXISTS != 0 {
            self.finish_result();
            self.stage = Stage::First;
            return Progress::More;
        }
        Progress::Done
    }

    /// Moves the current result to the list (when it is not the last one).
    fn finish_result(&mut self) {
        let done = std::mem::take(&mut self.current);
        if self.results.len() < self.limits.results {
            self.results.push(done);
        }
    }

    fn row(&mut self, p: &Packet<'_>) {
        self.current.row_count += 1;
        if self.current.rows.len() >= self.limits.rows {
            return;
        }
        let cols = usize::try_from(self.current.column_count).unwrap_or(usize::MAX);
        let decoded = match self.expect {
            Expect::Binary { .. } if cols == self.current.columns.len() => {
                let types: Vec<(u8, bool)> = self.current.columns.iter().map(|c| (c.type_code, c.unsigned)).collect();
                values::binary_row(p.payload, &types, self.limits.cell)
            }
            Expect::Generic if cols <= self.limits.columns => values::text_row(p.payload, cols, self.limits.cell),
            _ => return,
        };
        match decoded {
            Ok(row) => {
                self.current.held += row.iter().map(value_size).sum::<usize>();
                self.current.rows.push(row);
            }
            Err(e) if p.len > p.payload.len() => {
                let _ = e;
                self.note("a row longer than the kept bytes was not decoded".into());
            }
            Err(e) => self.note(e.to_string()),
        }
    }
}

fn value_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 24,
        _ => 24,
    }
}
