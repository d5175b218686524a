#[derive(Debug, thiserror::Error)]
pub enum DecodeError { #[error("unsupported")] Unsupported }
