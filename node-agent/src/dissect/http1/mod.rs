//! Placeholder: replaced by the HTTP/1 work.
use super::*;
#[derive(Default)]
pub struct Http1Dissector;
impl StreamDissector for Http1Dissector {
    fn name(&self) -> &'static str {
        "http"
    }
    fn probe(&self, _: &FlowInfo, _: &[u8]) -> Probe {
        Probe::No
    }
    fn new_session(&self, _: &FlowInfo) -> Box<dyn StreamSession> {
        unimplemented!()
    }
}
