//! Placeholder: replaced by the DNS work.
use super::*;
pub struct DnsTcpDissector;
impl StreamDissector for DnsTcpDissector {
    fn name(&self) -> &'static str { "dns" }
    fn probe(&self, _: &FlowInfo, _: &[u8]) -> Probe { Probe::No }
    fn new_session(&self, _: &FlowInfo) -> Box<dyn StreamSession> { unimplemented!() }
}
#[derive(Default)]
pub struct DnsUdpDissector;
impl DatagramDissector for DnsUdpDissector {
    fn name(&self) -> &'static str { "dns" }
    fn probe(&self, _: &FlowInfo, _: &[u8]) -> Probe { Probe::No }
    fn new_session(&self, _: &FlowInfo) -> Box<dyn DatagramSession> { unimplemented!() }
}
