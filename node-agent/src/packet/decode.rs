//! Placeholder: replaced by the packet-decode work.
use super::{Decoded, DecodeError};
use crate::source::RawPacket;
pub fn decode<'a>(_p: &RawPacket<'a>) -> Result<Option<Decoded<'a>>, DecodeError> { Err(DecodeError::Unsupported) }
