//! Integration tests: the real `swipewatch` binary against real servers
//! (Mosquitto over TCP), each started on a free loopback port with a
//! temporary data dir, bounded in time, and stopped at the end.

mod alertmanager;
mod api;
mod cli;
mod compat;
mod health;
mod incidents;
mod ingest;
mod prometheus;
mod scenarios;
mod security;
mod support;
