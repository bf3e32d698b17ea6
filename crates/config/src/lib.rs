//! swipewatch configuration.
//!
//! One TOML file, declared once here: every field has a doc comment, a default
//! in [`defaults`], and is checked by [`Config::validate`] before any library
//! setter that could panic (rumqttc asserts on some options) is called.
//! Environment variables `SWIPEWATCH__SECTION__KEY=value` override scalar keys;
//! secrets (broker password) come only from the environment or a file and are
//! never printed.
//!
//! Every error names the key that is wrong and why, on one line.

mod codes;
pub mod defaults;
mod error;
mod load;
mod schema;
mod validate;

pub use codes::{builtin_code_tables, load_bin_table, load_code_tables, load_inventory};
pub use error::ConfigError;
pub use load::{load_file, load_str, ENV_PREFIX};
pub use schema::{
    AlertsConfig, BrokerUrl, CodesConfig, Config, DetectConfig, EngineConfig, FleetConfig,
    HistoryConfig, IncidentsConfig, IngestConfig, MaintenanceConfig, MqttConfig, Secret,
    ServerConfig, TopicConfig, TopicKind,
};
