pub mod local;
pub mod view;
