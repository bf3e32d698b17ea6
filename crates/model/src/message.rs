//! A message as it arrived from the broker: what the decoder reads,
//! whatever carried it (the live intake, the intake journal, the
//! simulator's stream).

/// A broker message: its topic, its payload and when it arrived.
pub trait RawMessage {
    /// The MQTT topic it was published to.
    fn topic(&self) -> &str;
    /// The payload as sent.
    fn payload(&self) -> &[u8];
    /// When it reached swipewatch (or the broker), epoch ms.
    fn arrival_ms(&self) -> i64;
}
