//! The JSON the simulated terminals publish, and their topics.

use crate::fleet::Terminal;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct NetJson<'a> {
    #[serde(rename = "type")]
    pub(crate) net_type: &'a str,
    pub(crate) carrier: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cell_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rssi_dbm: Option<i16>,
}

#[derive(Serialize)]
pub(crate) struct SwJson<'a> {
    pub(crate) fw: &'a str,
    pub(crate) app: &'a str,
}

#[derive(Serialize)]
pub(crate) struct TxnJson<'a> {
    pub(crate) event_id: &'a str,
    pub(crate) terminal_id: &'a str,
    pub(crate) merchant_id: &'a str,
    pub(crate) issuer: &'a str,
    pub(crate) bin: &'a str,
    pub(crate) scheme: &'a str,
    pub(crate) ts: i64,
    pub(crate) seq: u64,
    pub(crate) outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rc: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rc_source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) term_error: Option<&'a str>,
    pub(crate) entry_mode: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) latency_ms: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) saf: bool,
    pub(crate) net: NetJson<'a>,
    pub(crate) sw: SwJson<'a>,
    pub(crate) model: &'a str,
    pub(crate) amount_minor: u64,
    pub(crate) currency: &'a str,
}

#[derive(Serialize)]
pub(crate) struct HeartbeatJson<'a> {
    pub(crate) terminal_id: &'a str,
    pub(crate) merchant_id: &'a str,
    pub(crate) ts: i64,
    pub(crate) seq: u64,
    pub(crate) uptime_s: u64,
    pub(crate) battery_pct: u8,
    pub(crate) host_reachable: bool,
    pub(crate) saf_queue_depth: u32,
    pub(crate) chip_read_err: u32,
    pub(crate) swipe_err: u32,
    pub(crate) ctls_err: u32,
    pub(crate) fallback: u32,
    pub(crate) tamper: bool,
    pub(crate) net: NetJson<'a>,
    pub(crate) sw: SwJson<'a>,
    pub(crate) model: &'a str,
}

pub(crate) fn net_json(t: &Terminal) -> NetJson<'_> {
    NetJson {
        net_type: t.net_name(),
        carrier: t.carrier,
        cell_id: t.cell,
        rssi_dbm: (t.rssi_dbm != 0).then_some(t.rssi_dbm),
    }
}

pub(crate) fn topic(t: &Terminal, kind: &str) -> String {
    format!(
        "dt/pos/v1/{}/{}/{}/{kind}",
        t.region_name(),
        t.acquirer_name(),
        t.id
    )
}
