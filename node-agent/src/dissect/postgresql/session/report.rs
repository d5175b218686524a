//! Turning finished (or abandoned) operations into entries: the request and response objects,
//! summary, status and outcome of each, and the entries of their own (notices outside a
//! request, notifications, accepted encryption, unanswered operations).

use super::*;

impl PgSession {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit(
        &self,
        ts: Timestamp,
        size: u64,
        summary: String,
        request: Map<String, Value>,
        result: ResultSet,
        notes: Vec<String>,
        out: &mut dyn ExchangeSink,
    ) {
        out.emit(Exchange {
            protocol: super::super::NAME,
            ts,
            end_ts: result.end_ts,
            summary,
            status: result.status(),
            outcome: result.outcome(),
            request_size: size,
            response_size: result.size,
            request: Value::Object(request),
            response: Some(result.json()),
            notes,
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit_unanswered(
        &self,
        ts: Timestamp,
        size: u64,
        summary: String,
        request: Map<String, Value>,
        outcome: Outcome,
        note: &str,
        out: &mut dyn ExchangeSink,
    ) {
        out.emit(Exchange {
            protocol: super::super::NAME,
            ts,
            end_ts: None,
            summary,
            status: None,
            outcome,
            request_size: size,
            response_size: 0,
            request: Value::Object(request),
            response: None,
            notes: vec![note.to_owned()],
        });
    }

    pub(super) fn query_request(&self, sql: Option<&str>) -> Map<String, Value> {
        let mut request = self.base_request();
        request.insert("query".into(), sql.map_or(Value::Null, Value::from));
        request
    }

    pub(super) fn finish_startup(&mut self, out: &mut dyn ExchangeSink) {
        let Some(Op::Startup(s)) = self.ops.pop_front() else { return };
        let Startup { ts, size, request, auth, server_params, backend_pid, mut result, .. } = *s;
        if result.error.is_none() {
            result.command_tag = Some("OK".into());
        }
        let summary =
            format!("STARTUP {}@{}", self.user.as_deref().unwrap_or("?"), self.database.as_deref().unwrap_or("?"));
        let mut response = result.json();
        if let Value::Object(m) = &mut response {
            m.remove("command_tag");
            m.insert("authentication".into(), Value::from(auth));
            m.insert("parameters".into(), Value::Object(server_params));
            if let Some(pid) = backend_pid {
                m.insert("backend_pid".into(), Value::from(pid));
            }
        }
        out.emit(Exchange {
            protocol: super::super::NAME,
            ts,
            end_ts: result.end_ts,
            summary,
            status: result.status(),
            outcome: result.outcome(),
            request_size: size,
            response_size: result.size,
            request: Value::Object(request),
            response: Some(response),
            notes: Vec::new(),
        });
    }

    /// One entry per statement of a simple Query. `unanswered`: the connection ended (or lost
    /// bytes) before its ReadyForQuery.
    pub(super) fn emit_query(&mut self, q: Query, out: &mut dyn ExchangeSink, unanswered: Option<&str>) {
        let Query { ts, size, sql, mut done, current } = q;
        let incomplete = current.is_some();
        if let Some(c) = current {
            done.push(c);
        }
        let mut pieces = sql::split_statements(&sql);
        if pieces.is_empty() || done.len() == 1 && pieces.len() > 1 && done[0].error.is_none() && unanswered.is_none() {
            // An empty string (EmptyQueryResponse), or a split the server did not agree with.
            pieces = vec![sql.as_str()];
        }
        let failed_at = done.iter().position(|r| r.error.is_some());
        let n = pieces.len().max(done.len());
        let mut results = done.into_iter();
        for i in 0..n.min(MAX_STATEMENTS) {
            let piece = pieces.get(i).copied();
            let mut request = self.query_request(Some(piece.unwrap_or(sql.as_str())));
            if pieces.len() > 1 {
                request.insert("statement_index".into(), Value::from(i + 1));
                request.insert("statement_count".into(), Value::from(pieces.len()));
            }
            let summary = sql::summary(piece.unwrap_or(sql.as_str()));
            let req_size = if i == 0 { size } else { 0 };
            match results.next() {
                Some(result) => {
                    let last = i + 1 == n;
                    let mut notes = Vec::new();
                    if piece.is_none() {
                        notes.push("more results than statements found in the query string".into());
                    }
                    if last && incomplete && unanswered.is_some() {
                        let note = unanswered.unwrap_or_default();
                        notes.push(note.to_owned());
                        let mut response = result.json();
                        if let Value::Object(m) = &mut response {
                            m.insert("incomplete".into(), Value::Bool(true));
                        }
                        out.emit(Exchange {
                            protocol: super::super::NAME,
                            ts,
                            end_ts: result.end_ts,
                            summary,
                            status: None,
                            outcome: Outcome::NoResponse,
                            request_size: req_size,
                            response_size: result.size,
                            request: Value::Object(request),
                            response: Some(response),
                            notes,
                        });
                    } else {
                        self.emit(ts, req_size, summary, request, result, notes, out);
                    }
                }
                None if failed_at.is_some() => {
                    let note = "not executed: an earlier statement of the same Query failed";
                    self.emit_unanswered(ts, req_size, summary, request, Outcome::Error, note, out);
                }
                None => {
                    let note = unanswered.unwrap_or("no result for this statement before ReadyForQuery");
                    self.emit_unanswered(ts, req_size, summary, request, Outcome::NoResponse, note, out);
                }
            }
        }
        if n > MAX_STATEMENTS {
            let mut request = self.query_request(None);
            request.insert("statements_not_shown".into(), Value::from(n - MAX_STATEMENTS));
            let note = "more statements in one Query than an entry each is made for";
            self.emit_unanswered(ts, 0, "…".into(), request, Outcome::Ok, note, out);
        }
    }

    pub(super) fn exec_request(&self, e: &Exec) -> Map<String, Value> {
        let mut request = self.query_request(e.sql.as_deref());
        request.insert("params".into(), Value::Array(e.params.as_ref().clone()));
        if !e.statement.is_empty() {
            request.insert("statement".into(), Value::from(e.statement.as_str()));
        }
        if !e.portal.is_empty() {
            request.insert("portal".into(), Value::from(e.portal.as_str()));
        }
        request
    }

    pub(super) fn emit_exec(&self, e: Exec, not_executed: Option<&str>, out: &mut dyn ExchangeSink) {
        let request = self.exec_request(&e);
        let summary = match e.sql.as_deref() {
            Some(sql) => sql::summary(sql),
            None => format!("EXECUTE portal {:?}", e.portal),
        };
        match not_executed {
            Some(note) => self.emit_unanswered(e.ts, e.size, summary, request, Outcome::Error, note, out),
            None => self.emit(e.ts, e.size, summary, request, e.result, e.notes, out),
        }
    }

    pub(super) fn on_notice(&mut self, body: &[u8], size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let notice =
            wire::parse_fields(body).map_or_else(|| json!({"message": "malformed NoticeResponse"}), |f| error_json(&f));
        let result = match self.ops.front_mut() {
            Some(Op::Query(q)) => Some(q.current.get_or_insert_with(ResultSet::default)),
            Some(Op::Execute(e)) => Some(&mut e.result),
            Some(Op::Startup(s)) => Some(&mut s.result),
            Some(Op::Function(f)) => Some(&mut f.result),
            _ => None,
        };
        if let Some(r) = result {
            r.size += size;
            if r.notices.len() < MAX_NOTICES {
                r.notices.push(notice);
            }
            return;
        }
        let message = notice.get("message").and_then(Value::as_str).unwrap_or_default();
        let summary = format!("NOTICE {message}");
        let status = notice.get("code").and_then(Value::as_str).map(str::to_owned);
        out.emit(Exchange {
            protocol: super::super::NAME,
            ts,
            end_ts: Some(ts),
            summary,
            status,
            outcome: Outcome::Ok,
            request_size: 0,
            response_size: size,
            request: Value::Object(self.base_request()),
            response: Some(json!({ "notices": [notice] })),
            notes: vec!["a notice the server sent outside any captured request".into()],
        });
    }

    /// A NotificationResponse (LISTEN/NOTIFY): an entry of its own.
    pub(super) fn on_notification(&mut self, body: &[u8], size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let mut r = wire::Reader::new(body);
        let pid = r.u32();
        let channel = r.cstr().map(values::text).unwrap_or_default();
        let payload = r.cstr().map(values::text).unwrap_or_default();
        let mut request = self.base_request();
        request.insert("channel".into(), Value::from(channel.as_str()));
        out.emit(Exchange {
            protocol: super::super::NAME,
            ts,
            end_ts: Some(ts),
            summary: format!("NOTIFY {channel}"),
            status: None,
            outcome: Outcome::Ok,
            request_size: 0,
            response_size: size,
            request: Value::Object(request),
            response: Some(json!({"notification": {"channel": channel, "payload": payload, "backend_pid": pid}})),
            notes: vec!["an asynchronous notification (LISTEN/NOTIFY) from the server".into()],
        });
    }

    pub(super) fn emit_orphan_error(&mut self, body: &[u8], size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let mut result = ResultSet { size, end_ts: Some(ts), ..ResultSet::default() };
        result.set_error(body);
        let message = result.error.as_ref().and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or_default();
        let summary = format!("ERROR {message}");
        let note = "an error the server sent outside any captured request (e.g. the session was terminated)";
        self.emit(ts, 0, summary, self.query_request(None), result, vec![note.into()], out);
    }

    pub(super) fn on_encryption_answer(&mut self, answer: u8, size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Some(Op::Encryption { gss, ts: t0, size: s0 }) = self.ops.front() else { return };
        let (gss, t0, s0) = (*gss, *t0, *s0);
        self.ops.pop_front();
        let what = if gss { "GSSENCRequest" } else { "SSLRequest" };
        if answer == b'N' {
            self.encryption_refused = Some(what);
            return;
        }
        let mut request = self.base_request();
        request.insert("encryption_request".into(), Value::from(what));
        out.emit(Exchange {
            protocol: super::super::NAME,
            ts: t0,
            end_ts: Some(ts),
            summary: format!("{what} accepted: encrypted session"),
            status: Some(String::from_utf8_lossy(&[answer]).into_owned()),
            outcome: Outcome::Ok,
            request_size: s0,
            response_size: size,
            request: Value::Object(request),
            response: Some(json!({"encrypted": true})),
            notes: vec!["the session is encrypted from here on and is not dissected".into()],
        });
        self.stop(out);
    }

    /// Stops dissecting: pending operations are reported as they stand.
    pub(super) fn stop(&mut self, out: &mut dyn ExchangeSink) {
        self.done = true;
        for h in &mut self.halves {
            h.framer.stop();
        }
        self.flush("the connection could not be followed further", out);
    }

    pub(super) fn flush(&mut self, note: &str, out: &mut dyn ExchangeSink) {
        while let Some(op) = self.ops.pop_front() {
            self.report_unanswered(op, note, out);
        }
    }

    pub(super) fn report_unanswered(&mut self, op: Op, note: &str, out: &mut dyn ExchangeSink) {
        match op {
            Op::Query(q) => self.emit_query(*q, out, Some(note)),
            Op::Execute(e) => {
                let request = self.exec_request(&e);
                let summary = e.sql.as_deref().map_or_else(|| format!("EXECUTE portal {:?}", e.portal), sql::summary);
                self.emit_unanswered(e.ts, e.size, summary, request, Outcome::NoResponse, note, out);
            }
            Op::Startup(s) => {
                let summary = format!("STARTUP {}", self.user.as_deref().unwrap_or("?"));
                self.emit_unanswered(s.ts, s.size, summary, s.request, Outcome::NoResponse, note, out);
            }
            Op::Function(f) => {
                let summary = format!("FunctionCall {}", f.oid);
                self.emit_unanswered(f.ts, f.size, summary, self.base_request(), Outcome::NoResponse, note, out);
            }
            _ => {}
        }
    }
}
