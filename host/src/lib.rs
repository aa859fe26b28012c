//! mentortrack: the host server of low-dose, high-frequency mentorship programmes.
//! `docs/ARCHITECTURE.md` is the map.

pub mod api;
pub mod auth;
pub mod authz;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod import;
pub mod plugins;
pub mod server;
pub mod time;
pub mod web;
