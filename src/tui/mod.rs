//! The console: a ratatui + crossterm front end on the same engine as the
//! headless CLI. State is plain data ([`app::App`]), every input is a
//! [`msg::Msg`], `update` turns messages into state changes and effects
//! ([`msg::Cmd`]), `render` draws state and never changes it. Only the loop
//! in `term.rs` performs effects; the console never talks to a transport.

pub mod app;
pub mod keys;
pub mod msg;
pub mod runs;
pub mod term;
pub mod theme;
pub mod update;
pub mod views;

pub use term::{Options, run};
