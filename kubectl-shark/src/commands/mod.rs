pub mod attach;
pub mod clean;
pub mod list;
pub mod local;
pub mod proxy;
pub mod tap;
pub mod version;
pub mod view;
