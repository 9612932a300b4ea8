//! Helpers shared by integration tests.
pub mod bot;
pub mod fake_discord;
pub mod logs;
