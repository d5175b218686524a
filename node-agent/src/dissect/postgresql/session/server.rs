//! Server messages: each applies to the operation at the front of the queue and finishes it when
//! its answer is complete; the marker rules of the module doc (synchronisation after a pickup or a
//! gap), Describe results, and errors inside an extended-query pipeline.

use super::*;

impl PgSession {
    pub(super) fn on_server(&mut self, msg: Message<'_>, size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let (tag, body) = match msg {
            Message::EncryptionAnswer(b) => {
                self.answers_seen += 1;
                self.on_encryption_answer(b, size, ts, out);
                return;
            }
            Message::Typed { tag, body } => (tag, body),
            Message::Startup { .. } => return,
        };
        match tag {
            b'A' => return self.on_notification(body, size, ts, out),
            b'S' if !matches!(self.ops.front(), Some(Op::Startup(_))) => return,
            _ => {}
        }
        if let Some(Op::Marker { saw_ready }) = self.ops.front() {
            let saw_ready = *saw_ready;
            if !(saw_ready && self.resynchronise(tag, out)) {
                if tag == b'Z' {
                    self.answered_unseen(out);
                    if let Some(Op::Marker { saw_ready }) = self.ops.front_mut() {
                        *saw_ready = true;
                    }
                } else if let Some(Op::Marker { saw_ready }) = self.ops.front_mut() {
                    *saw_ready = false;
                }
                return;
            }
        }
        if tag == b'N' {
            return self.on_notice(body, size, ts, out);
        }
        let Some(front) = self.ops.front_mut() else {
            if tag == b'E' {
                self.emit_orphan_error(body, size, ts, out);
            }
            return;
        };
        match front {
            Op::Marker { .. } => {}
            Op::Encryption { .. } => {
                // An ErrorResponse instead of the one-byte answer (a server too old for the request).
                if let Some(Op::Encryption { ts: t0, size: s0, .. }) = self.ops.pop_front() {
                    let mut result = ResultSet { size, end_ts: Some(ts), ..ResultSet::default() };
                    if tag == b'E' {
                        result.set_error(body);
                    }
                    self.halves[1].format.ssl_answers_due = 0;
                    self.emit(t0, s0, "SSLRequest".into(), self.base_request(), result, Vec::new(), out);
                }
            }
            Op::Startup(s) => {
                s.result.size += size;
                s.result.end_ts = Some(ts);
                let mut r = wire::Reader::new(body);
                match tag {
                    b'R' => {
                        let code = r.u32().unwrap_or(u32::MAX);
                        s.auth_code = code;
                        let name = match code {
                            0 => "ok".to_owned(),
                            2 => "KerberosV5".into(),
                            3 => "cleartext password".into(),
                            5 => "MD5 password".into(),
                            7 => "GSSAPI".into(),
                            8 => "GSSAPI continue".into(),
                            9 => "SSPI".into(),
                            10 => {
                                let mut mechs = Vec::new();
                                while let Some(m) = r.cstr().filter(|m| !m.is_empty()) {
                                    mechs.push(lossy(m));
                                }
                                format!("SASL {}", mechs.join(" "))
                            }
                            11 => "SASL continue".into(),
                            12 => "SASL final".into(),
                            other => format!("auth request {other}"),
                        };
                        if s.auth.len() < 16 {
                            s.auth.push(name);
                        }
                    }
                    b'S' => {
                        if let (Some(k), Some(v)) = (r.cstr(), r.cstr()) {
                            if s.server_params.len() < 64 {
                                s.server_params.insert(lossy(k), Value::from(values::text(v)));
                            }
                        }
                    }
                    b'K' => s.backend_pid = r.u32(),
                    b'E' => {
                        s.result.set_error(body);
                        self.finish_startup(out);
                    }
                    b'Z' => self.finish_startup(out),
                    _ => {}
                }
            }
            Op::Query(q) if tag == b'Z' => {
                if let Some(last) = q.current.as_mut().or(q.done.last_mut()) {
                    last.size += size;
                }
                if let Some(Op::Query(q)) = self.ops.pop_front() {
                    self.emit_query(*q, out, None);
                }
            }
            Op::Query(q) => {
                let current = q.current.get_or_insert_with(ResultSet::default);
                current.size += size;
                current.end_ts = Some(ts);
                match tag {
                    b'T' => {
                        if let Some((cols, n)) = wire::parse_row_description(body) {
                            current.columns = Some(cols.into());
                            current.column_count = n;
                        }
                    }
                    b'D' => current.row(body, &[]),
                    b'd' => {
                        if let Some(c) = current.copy.as_mut() {
                            c.data(body)
                        }
                    }
                    b'G' | b'H' => current.copy = Some(copy_start(tag, body)),
                    b'C' | b'E' | b'I' => {
                        match tag {
                            b'C' => current.command_tag = wire::Reader::new(body).cstr().map(lossy),
                            b'E' => current.set_error(body),
                            _ => current.empty_query = true,
                        }
                        if let Some(done) = q.current.take() {
                            // Memory stays bounded however many results one Query gets.
                            if q.done.len() < MAX_STATEMENTS {
                                q.done.push(done);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Op::Execute(e) => {
                let result = &mut e.result;
                result.size += size;
                result.end_ts = Some(ts);
                match tag {
                    b'D' => result.row(body, &e.result_formats),
                    b'd' => {
                        if let Some(c) = result.copy.as_mut() {
                            c.data(body)
                        }
                    }
                    b'G' | b'H' => result.copy = Some(copy_start(tag, body)),
                    b'C' | b'I' | b's' => {
                        match tag {
                            b'C' => result.command_tag = wire::Reader::new(body).cstr().map(lossy),
                            b'I' => result.empty_query = true,
                            _ => result.suspended = true,
                        }
                        if let Some(Op::Execute(e)) = self.ops.pop_front() {
                            self.emit_exec(*e, None, out);
                        }
                    }
                    b'E' => self.on_extended_error(body, size, ts, out),
                    _ => {}
                }
            }
            Op::Parse { .. } | Op::Bind { .. } | Op::Close => match tag {
                b'1' | b'2' | b'3' => {
                    self.ops.pop_front();
                }
                b'E' => self.on_extended_error(body, size, ts, out),
                _ => {}
            },
            Op::Describe { statement, name } => match tag {
                b't' => {
                    let mut r = wire::Reader::new(body);
                    let n = r.u16().unwrap_or(0) as usize;
                    let types: Arc<[u32]> = (0..n.min(wire::MAX_VALUES)).map_while(|_| r.u32()).collect();
                    if *statement {
                        if let Some(s) = self.statements.get_mut(name) {
                            s.param_types = types;
                        }
                    }
                }
                b'T' | b'n' => {
                    let cols: Option<Columns> =
                        if tag == b'T' { wire::parse_row_description(body).map(|(c, _)| c.into()) } else { None };
                    let (statement, name) = (*statement, std::mem::take(name));
                    self.ops.pop_front();
                    if let Some(cols) = cols {
                        self.describe_columns(statement, &name, cols);
                    }
                }
                b'E' => self.on_extended_error(body, size, ts, out),
                _ => {}
            },
            Op::Sync => {
                if tag == b'Z' {
                    self.ops.pop_front();
                }
            }
            Op::Function(f) => {
                f.result.size += size;
                f.result.end_ts = Some(ts);
                match tag {
                    b'V' => {
                        let v = wire::Reader::new(body).value().flatten();
                        f.value = Some(values::decode(v, 0, 0)).filter(|_| v.is_some_and(|v| v.is_ascii()));
                        f.result.command_tag = Some("FUNCTION CALL".into());
                    }
                    b'E' => f.result.set_error(body),
                    b'Z' => {
                        if let Some(Op::Function(f)) = self.ops.pop_front() {
                            let mut request = self.base_request();
                            request.insert("function_oid".into(), Value::from(f.oid));
                            request.insert("arguments".into(), Value::from(f.args));
                            let mut result = f.result;
                            if let Some(v) = f.value {
                                result.rows.push(Value::Array(vec![v]));
                                result.row_count = 1;
                            }
                            let summary = format!("FunctionCall {}", f.oid);
                            self.emit(f.ts, f.size, summary, request, result, Vec::new(), out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The marker is at the front: whether the server message `tag` starts the answer to the
    /// operation after it (then the marker goes). The message must come at a boundary (after a
    /// ReadyForQuery, or first) and be a first message that operation can get. A startup whose
    /// answer was not captured (a message only a started session gets arrives) is reported unanswered.
    pub(super) fn resynchronise(&mut self, tag: u8, out: &mut dyn ExchangeSink) -> bool {
        while let Some(next) = self.ops.get(1) {
            let fits = match next {
                Op::Marker { .. } => false,
                Op::Encryption { .. } => false,
                Op::Startup(_) => matches!(tag, b'R' | b'E'),
                Op::Query(_) => matches!(tag, b'T' | b'C' | b'E' | b'I' | b'G' | b'H' | b'Z'),
                Op::Parse { .. } => matches!(tag, b'1' | b'E'),
                Op::Bind { .. } => matches!(tag, b'2' | b'E'),
                Op::Describe { .. } => matches!(tag, b't' | b'T' | b'n' | b'E'),
                Op::Execute(_) => matches!(tag, b'D' | b'C' | b'E' | b'I' | b's' | b'G' | b'H'),
                Op::Close => matches!(tag, b'3' | b'E'),
                Op::Sync => tag == b'Z',
                Op::Function(_) => matches!(tag, b'V' | b'E'),
            };
            if fits {
                self.ops.pop_front();
                return true;
            }
            let phase_over =
                matches!(next, Op::Startup(_) | Op::Encryption { .. }) && !matches!(tag, b'R' | b'S' | b'K');
            if !phase_over {
                return false;
            }
            if let Some(op) = self.ops.remove(1) {
                self.report_unanswered(op, "its response was not captured", out);
            }
        }
        false
    }

    /// A ReadyForQuery went by while the marker was at the front: it ends the answer to the
    /// operations after the marker up to the first one a ReadyForQuery ends (they were sent
    /// before it, and a client waits for ReadyForQuery before it sends more, unless it pipelines),
    /// an answer that was not captured whole.
    pub(super) fn answered_unseen(&mut self, out: &mut dyn ExchangeSink) {
        while self.ops.len() > 1 && !matches!(self.ops.get(1), Some(Op::Marker { .. })) {
            let Some(op) = self.ops.remove(1) else { break };
            let ends = matches!(op, Op::Sync | Op::Query(_) | Op::Function(_) | Op::Startup(_));
            self.report_unanswered(op, "its response was not captured whole", out);
            if ends {
                break;
            }
        }
    }

    /// Columns a Describe answered: for the statement (and the Executes of its portals waiting),
    /// or for the portal (and its next Execute waiting).
    pub(super) fn describe_columns(&mut self, statement: bool, name: &str, cols: Columns) {
        if statement {
            if let Some(s) = self.statements.get_mut(name) {
                s.columns = Some(cols.clone());
            }
        } else if let Some(p) = self.portals.get_mut(name) {
            p.columns = Some(cols.clone());
        }
        for op in self.ops.iter_mut() {
            if let Op::Execute(e) = op {
                let matches = if statement { e.statement == name } else { e.portal == name };
                if matches && e.result.columns.is_none() {
                    e.result.columns = Some(cols.clone());
                    e.result.column_count = cols.len();
                    if !statement {
                        break;
                    }
                }
            }
        }
    }

    /// An ErrorResponse to a Parse, Bind, Describe, Close or Execute: reported on the Execute it
    /// stopped (or on the failed message itself when no Execute follows), and everything up to
    /// Sync is skipped by the server.
    pub(super) fn on_extended_error(&mut self, body: &[u8], size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Some(front) = self.ops.pop_front() else { return };
        let mut exec = None;
        let front = match front {
            Op::Execute(e) => {
                exec = Some(*e);
                Op::Close
            }
            other => other,
        };
        if exec.is_none() {
            let next = self
                .ops
                .iter()
                .take_while(|op| !matches!(op, Op::Sync | Op::Marker { .. }))
                .position(|op| matches!(op, Op::Execute(_)));
            if let Some(Op::Execute(e)) = next.and_then(|i| self.ops.remove(i)) {
                let mut e = *e;
                e.notes.push("the error came before the Execute (at Parse, Bind or Describe)".into());
                exec = Some(e);
            }
        }
        let mut exec = match exec {
            Some(e) => e,
            None => {
                // No Execute follows: the failed message itself is the entry (a prepare, a bind).
                let (sql, params, ts0, size0) = match front {
                    Op::Parse { sql, ts, size } => (Some(sql), Arc::new(Vec::new()), ts, size),
                    Op::Bind { sql, params, ts, size } => (sql, params, ts, size),
                    _ => (None, Arc::new(Vec::new()), ts, 0),
                };
                self.pre = None;
                Exec {
                    ts: ts0,
                    size: size0,
                    sql,
                    params,
                    statement: String::new(),
                    portal: String::new(),
                    result_formats: Arc::from([]),
                    result: ResultSet::default(),
                    notes: Vec::new(),
                }
            }
        };
        exec.result.size += size;
        exec.result.end_ts = Some(ts);
        exec.result.set_error(body);
        self.emit_exec(exec, None, out);
        let mut found_sync = false;
        while let Some(op) = self.ops.front() {
            if matches!(op, Op::Sync | Op::Marker { .. }) {
                found_sync = matches!(op, Op::Sync);
                break;
            }
            if let Some(Op::Execute(e)) = self.ops.pop_front() {
                self.emit_exec(*e, Some(NOT_EXECUTED), out);
            }
        }
        if !found_sync {
            self.skip_until_sync = true;
            self.pre = None;
        }
    }
}
