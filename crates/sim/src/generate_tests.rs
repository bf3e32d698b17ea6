use super::*;
use crate::scenario::Scenario;
use swipewatch_model::Cause;

fn scenario(faults: &str) -> Scenario {
    let text = format!(
        "name = \"t\"\nterminals = 2000\npeak_txn_per_hour = 30\nduration = \"20m\"\nheartbeat_interval = \"60s\"\n{faults}"
    );
    Scenario::parse(&text, "t").expect("valid scenario")
}

fn run(s: &Scenario) -> (Vec<Message>, Generator) {
    let mut g = Generator::new(s, None);
    let mut out = Vec::new();
    let bound = (g.end_ms() - g.origin_ms()) / 1000;
    let mut steps = 0;
    while g.step(&mut out) {
        steps += 1;
        assert!(steps <= bound, "one step per second of the scenario");
    }
    (out, g)
}

fn json(m: &Message) -> serde_json::Value {
    serde_json::from_slice(&m.payload).expect("payload is JSON")
}

#[test]
fn the_same_seed_gives_the_same_messages() {
    let s = scenario("");
    let (a, _) = run(&s);
    let (b, _) = run(&s);
    assert!(a.len() > 10_000, "{}", a.len());
    assert_eq!(a, b);
}

#[test]
fn outcomes_follow_the_wire_schema_and_carry_no_card_number() {
    let (msgs, g) = run(&scenario(""));
    let txns: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.topic.ends_with("/txn"))
        .map(json)
        .collect();
    let approved = txns.iter().filter(|t| t["outcome"] == "approved").count();
    let share = approved as f64 / txns.len() as f64;
    assert!((0.9..0.97).contains(&share), "approval rate {share}");
    for t in &txns {
        assert!(t["bin"].as_str().is_some_and(|b| b.len() == 6));
        assert!(t["event_id"].as_str().is_some());
        assert!(t["ts"].as_i64().is_some_and(|ts| ts >= g.origin_ms()));
    }
    let hbs = msgs.iter().filter(|m| m.topic.ends_with("/hb")).count();
    // Every terminal beats once a minute for 20 minutes.
    assert_eq!(hbs, 2000 * 20);
}

#[test]
fn an_issuer_outage_fails_that_issuers_cards_only_and_is_labelled() {
    let s = scenario(
        "[[faults]]\nkind = \"issuer_outage\"\nissuer = \"harbor-savings\"\nstart = \"10m\"\nduration = \"5m\"\nseverity = 1.0\n",
    );
    let (msgs, g) = run(&s);
    let during = |t: &serde_json::Value| {
        let ts = t["ts"].as_i64().unwrap_or(0) - g.origin_ms();
        (600_000..900_000).contains(&ts)
    };
    let txns: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.topic.ends_with("/txn"))
        .map(json)
        .collect();
    let target: Vec<&serde_json::Value> = txns
        .iter()
        .filter(|t| during(t) && t["issuer"] == "harbor-savings")
        .collect();
    assert!(!target.is_empty());
    assert!(target.iter().all(|t| t["rc"] == "91"));
    let others_91 = txns
        .iter()
        .filter(|t| during(t) && t["issuer"] != "harbor-savings" && t["rc"] == "91")
        .count();
    assert!(others_91 < 10, "{others_91}");
    let labels = g.labels();
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].cause, Some(Cause::BankIssuer));
    assert_eq!(labels[0].element["issuer"], "harbor-savings");
    assert_eq!(labels[0].end_ms - labels[0].start_ms, 300_000);
    assert!(
        (0.02..0.3).contains(&labels[0].share),
        "{}",
        labels[0].share
    );
}

#[test]
fn a_silent_outage_holds_outcomes_and_sends_them_late_as_store_and_forward() {
    let s = scenario(
        "[[faults]]\nkind = \"network_outage\"\ncarrier = \"airwave\"\nstart = \"5m\"\nduration = \"5m\"\nseverity = 1.0\nsilence = true\n",
    );
    let (msgs, g) = run(&s);
    let saf: Vec<&Message> = msgs.iter().filter(|m| json(m)["saf"] == true).collect();
    assert!(!saf.is_empty());
    let end = g.origin_ms() + 600_000;
    for m in &saf {
        assert!(
            m.ts_ms < end && m.arrival_ms >= end,
            "held until the link returns"
        );
    }
    // No heartbeats from the affected carrier while it is down.
    let quiet = msgs.iter().filter(|m| {
        m.topic.ends_with("/hb")
            && json(m)["net"]["carrier"] == "airwave"
            && (g.origin_ms() + 300_000..end).contains(&m.ts_ms)
    });
    assert_eq!(quiet.count(), 0);
}

#[test]
fn repeating_stories_label_every_occurrence_and_maintenance() {
    let s = Scenario::parse(
        "name = \"loop\"\nterminals = 200\nduration = \"30m\"\nrepeat = \"10m\"\n\
         [[faults]]\nkind = \"bank_cutover\"\nacquirer = \"acq-beta\"\nstart = \"2m\"\nduration = \"3m\"\nseverity = 1.0\n\
         [[maintenance]]\nacquirer = \"acq-beta\"\nstart = \"1m\"\nduration = \"5m\"\n",
        "loop",
    )
    .expect("valid");
    let (_, g) = run(&s);
    let labels = g.labels();
    assert_eq!(labels.len(), 3);
    assert!(labels.iter().all(|l| l.maintenance));
    assert_eq!(labels[1].start_ms - labels[0].start_ms, 600_000);
    assert_eq!(g.maintenance_windows(g.end_ms()).len(), 3);
}

#[test]
fn a_lead_in_delays_every_occurrence_and_maintenance_window_by_its_length() {
    let story = |lead: &str| {
        Scenario::parse(
            &format!(
                "name = \"loop\"\nterminals = 200\nduration = \"25m\"\nrepeat = \"10m\"\nlead_in = \"{lead}\"\n\
                 [[faults]]\nkind = \"bank_cutover\"\nacquirer = \"acq-beta\"\nstart = \"2m\"\nduration = \"3m\"\nseverity = 1.0\n\
                 [[maintenance]]\nacquirer = \"acq-beta\"\nstart = \"1m\"\nduration = \"5m\"\n"
            ),
            "loop",
        )
        .expect("valid")
    };
    let (_, plain) = run(&story("0s"));
    let (_, late) = run(&story("5m"));
    let (plain, late) = (plain.labels(), late.labels());
    assert_eq!((plain.len(), late.len()), (3, 2));
    assert_eq!(late[0].start_ms - plain[0].start_ms, 300_000);
    assert!(late.iter().all(|l| l.maintenance));
}

#[test]
fn another_traffic_seed_keeps_the_fleet_and_changes_the_traffic() {
    let s = scenario("");
    let a = Generator::new(&s, None);
    let b = Generator::new(&s, None).with_traffic_seed(99);
    assert_eq!(a.fleet().terminals, b.fleet().terminals);
    let (mut ma, mut mb) = (Vec::new(), Vec::new());
    let (mut a, mut b) = (a, b);
    for _ in 0..5 {
        a.step(&mut ma);
        b.step(&mut mb);
    }
    assert_ne!(ma, mb);
}

#[test]
fn a_dead_keypad_fails_chip_transactions_at_pin_entry_and_nothing_else() {
    let s = scenario(
        "[[faults]]\nkind = \"dead_keypad\"\nterminal = \"@busiest\"\nstart = \"5m\"\nduration = \"10m\"\nseverity = 1.0\n",
    );
    let (msgs, g) = run(&s);
    let labels = g.labels();
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].cause, Some(Cause::DeviceHardware));
    let terminal = labels[0].element["terminal"].clone();
    let during = |v: &serde_json::Value| {
        let ts = v["ts"].as_i64().unwrap_or(0);
        ts >= labels[0].start_ms && ts < labels[0].end_ms
    };
    let mine: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.topic.ends_with("/txn"))
        .map(json)
        .filter(|v| v["terminal_id"] == terminal.as_str() && during(v))
        .collect();
    let chip = mine.iter().filter(|v| v["entry_mode"] == "chip").count();
    let chip_pin_failures = mine
        .iter()
        .filter(|v| v["entry_mode"] == "chip" && v["term_error"] == "pinpad_error")
        .count();
    let other_pin_failures = mine
        .iter()
        .filter(|v| v["entry_mode"] != "chip" && v["term_error"] == "pinpad_error")
        .count();
    let tap_approved = mine
        .iter()
        .filter(|v| v["entry_mode"] == "contactless" && v["outcome"] == "approved")
        .count();
    assert!(chip >= 5, "the busiest terminal takes chip cards: {chip}");
    assert_eq!(
        chip_pin_failures, chip,
        "every chip transaction fails at the PIN pad"
    );
    assert_eq!(other_pin_failures, 0);
    assert!(tap_approved > 0, "tap still works");
}
