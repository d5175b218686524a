//! Client messages: each one that the server answers becomes an operation in the queue; Parse,
//! Bind and Close keep the statement and portal maps; CopyData feeds a COPY FROM STDIN in
//! progress; a PasswordMessage lands in the startup's secret fields.

use super::*;

impl PgSession {
    pub(super) fn on_client(&mut self, msg: Message<'_>, size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        match msg {
            Message::Startup { code, body } => self.on_startup_packet(code, body, size, ts, out),
            Message::Typed { tag, body } => self.on_client_typed(tag, body, size, ts, out),
            Message::EncryptionAnswer(_) => {}
        }
    }

    pub(super) fn on_startup_packet(
        &mut self,
        code: u32,
        body: &[u8],
        size: u64,
        ts: Timestamp,
        out: &mut dyn ExchangeSink,
    ) {
        match code {
            wire::SSL_REQUEST | wire::GSSENC_REQUEST => {
                // The answer is the server's next byte, before anything else it sends: a server
                // that already sent (or began) a message owes none.
                let server = &mut self.halves[1];
                if self.server_bytes == self.answers_seen && !server.format.typed_seen {
                    server.format.ssl_answers_due = server.format.ssl_answers_due.saturating_add(1);
                }
                self.push_op(Op::Encryption { gss: code == wire::GSSENC_REQUEST, ts, size }, out);
            }
            wire::CANCEL_REQUEST => {
                let mut r = wire::Reader::new(body);
                let (pid, _key) = (r.u32(), r.u32());
                let mut request = self.base_request();
                request.insert("cancel".into(), json!({"backend_pid": pid}));
                out.emit(Exchange {
                    protocol: super::super::NAME,
                    ts,
                    end_ts: None,
                    summary: format!("CANCEL {}", pid.unwrap_or(0)),
                    status: None,
                    outcome: Outcome::Ok,
                    request_size: size,
                    response_size: 0,
                    request: Value::Object(request),
                    response: None,
                    notes: vec!["a cancel request gets no response: the server closes the connection".into()],
                });
            }
            _ => {
                let mut request = Map::new();
                let mut parameters = Map::new();
                for (k, v) in wire::parse_startup_params(body).unwrap_or_default() {
                    let (k, v) = (lossy(k), values::text(v));
                    match k.as_str() {
                        "user" => self.user = Some(v.clone()),
                        "database" => self.database = Some(v.clone()),
                        _ => {}
                    }
                    parameters.insert(k, Value::String(v));
                }
                if self.database.is_none() {
                    // The server's default database is the user's name.
                    self.database = self.user.clone();
                }
                request.extend(self.base_request());
                if let Some(app) = parameters.get("application_name") {
                    request.insert("application_name".into(), app.clone());
                }
                request.insert("protocol_version".into(), Value::from(format!("{}.{}", code >> 16, code & 0xffff)));
                request.insert("parameters".into(), Value::Object(parameters));
                if let Some(what) = self.encryption_refused.take() {
                    request.insert("encryption_refused".into(), Value::from(what));
                }
                let startup = Startup {
                    ts,
                    size,
                    request,
                    auth: Vec::new(),
                    server_params: Map::new(),
                    backend_pid: None,
                    auth_code: 0,
                    result: ResultSet::default(),
                };
                self.push_op(Op::Startup(Box::new(startup)), out);
            }
        }
    }

    pub(super) fn on_client_typed(
        &mut self,
        tag: u8,
        body: &[u8],
        size: u64,
        ts: Timestamp,
        out: &mut dyn ExchangeSink,
    ) {
        let mut r = wire::Reader::new(body);
        // After an error the server skips messages until Sync: the maps still follow what the
        // client meant (so a skipped Execute shows its SQL), but nothing waits for an answer.
        let skipping = self.skip_until_sync;
        match tag {
            b'Q' => {
                // An oversized Query arrives cut: its text is what came.
                let sql = values_sql(r.cstr().unwrap_or(body));
                self.push_op(Op::Query(Box::new(Query { ts, size, sql, done: Vec::new(), current: None })), out);
            }
            b'P' => {
                let name = r.cstr().map(lossy).unwrap_or_default();
                let sql: Arc<str> = r.cstr().map(values_sql).unwrap_or_default().into();
                let n = r.u16().unwrap_or(0) as usize;
                let types: Vec<u32> = (0..n.min(wire::MAX_VALUES)).map_while(|_| r.u32()).collect();
                self.statements.insert(name, Statement { sql: sql.clone(), param_types: types.into(), columns: None });
                self.add_pre(ts, size);
                if !skipping {
                    self.push_op(Op::Parse { sql, ts, size }, out);
                }
            }
            b'B' => {
                self.add_pre(ts, size);
                let Some(bind) = wire::parse_bind(body) else { return };
                let stmt = self.statements.get(&lossy(bind.statement)).cloned();
                let types = stmt.as_ref().map(|s| s.param_types.clone()).unwrap_or_else(|| Arc::from([]));
                let params: Vec<Value> = bind
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        values::decode(*v, wire::format_of(&bind.param_formats, i), types.get(i).copied().unwrap_or(0))
                    })
                    .collect();
                let portal = Portal {
                    statement: lossy(bind.statement),
                    sql: stmt.as_ref().map(|s| s.sql.clone()),
                    params: Arc::new(params),
                    result_formats: bind.result_formats.into(),
                    columns: stmt.and_then(|s| s.columns),
                };
                let name = lossy(bind.portal);
                let (sql, params) = (portal.sql.clone(), portal.params.clone());
                self.portals.insert(name, portal);
                if !skipping {
                    self.push_op(Op::Bind { sql, params, ts, size }, out);
                }
            }
            b'D' => {
                self.add_pre(ts, size);
                let statement = r.u8() == Some(b'S');
                let name = r.cstr().map(lossy).unwrap_or_default();
                if !skipping {
                    self.push_op(Op::Describe { statement, name }, out);
                }
            }
            b'E' => {
                let portal = r.cstr().map(lossy).unwrap_or_default();
                let exec = self.exec_for(&portal, ts, size);
                if skipping {
                    self.emit_exec(exec, Some(NOT_EXECUTED), out);
                } else {
                    self.push_op(Op::Execute(Box::new(exec)), out);
                }
            }
            b'C' => {
                let statement = r.u8() == Some(b'S');
                let name = r.cstr().map(lossy).unwrap_or_default();
                if statement {
                    self.statements.remove(&name);
                } else {
                    self.portals.remove(&name);
                }
                if !skipping {
                    self.push_op(Op::Close, out);
                }
            }
            b'S' => {
                self.skip_until_sync = false;
                self.push_op(Op::Sync, out);
            }
            b'F' => {
                let oid = r.u32().unwrap_or(0);
                let nf = r.u16().unwrap_or(0);
                let _ = r.skip(nf as usize * 2);
                let args = r.u16().unwrap_or(0) as usize;
                let f = Function { ts, size, oid, args, value: None, result: ResultSet::default() };
                self.push_op(Op::Function(Box::new(f)), out);
            }
            b'd' | b'c' | b'f' => {
                if let Some(copy) = self.ops.iter_mut().find_map(copy_in_of) {
                    match tag {
                        b'd' => copy.data(body),
                        b'f' => copy.failed = r.cstr().map(values::text),
                        _ => {}
                    }
                }
            }
            b'p' => self.on_password(body),
            _ => {}
        }
    }

    /// A PasswordMessage, SASLInitialResponse or SASLResponse: kept only as fields the
    /// registration declares secret.
    pub(super) fn on_password(&mut self, body: &[u8]) {
        let Some(Op::Startup(s)) = self.ops.iter_mut().find(|op| matches!(op, Op::Startup(_))) else { return };
        let mut r = wire::Reader::new(body);
        match s.auth_code {
            10 => {
                let mechanism = r.cstr().map(lossy).unwrap_or_default();
                s.request.insert("sasl_mechanism".into(), Value::from(mechanism));
                let data = r.value().flatten().map(values::text);
                s.request.insert("sasl_data".into(), Value::from(data));
            }
            11 => {
                s.request.insert("sasl_data".into(), Value::from(values::text(body)));
            }
            _ => {
                s.request.insert("password".into(), Value::from(r.cstr().map(values::text)));
            }
        }
    }

    /// The Execute of `portal` as the maps know it now.
    pub(super) fn exec_for(&mut self, portal: &str, ts: Timestamp, size: u64) -> Exec {
        let (ts, size) = self.take_pre(ts, size);
        let p = self.portals.get(portal);
        let mut notes = Vec::new();
        if p.is_none() {
            notes.push("the Bind of this portal was not captured: its SQL is not known".into());
        }
        Exec {
            ts,
            size,
            sql: p.and_then(|p| p.sql.clone()),
            params: p.map(|p| p.params.clone()).unwrap_or_default(),
            statement: p.map(|p| p.statement.clone()).unwrap_or_default(),
            portal: portal.to_owned(),
            result_formats: p.map_or_else(|| Arc::from([]), |p| p.result_formats.clone()),
            result: ResultSet { columns: p.and_then(|p| p.columns.clone()), ..ResultSet::default() },
            notes,
        }
    }
}
