//! Loading the response-code tables that drive the outcome taxonomy.

use crate::error::ConfigError;
use std::path::PathBuf;
use swipewatch_model::{BinTable, CodeTable, Inventory, Taxonomy};

/// The tables shipped in `config/codes/`, compiled in so the service runs
/// without any file.
const BUILTIN: [(&str, &str); 5] = [
    (
        "iso8583-1993.toml",
        include_str!("../../../config/codes/iso8583-1993.toml"),
    ),
    (
        "iso8583.toml",
        include_str!("../../../config/codes/iso8583.toml"),
    ),
    (
        "unionpay.toml",
        include_str!("../../../config/codes/unionpay.toml"),
    ),
    (
        "wechatpay.toml",
        include_str!("../../../config/codes/wechatpay.toml"),
    ),
    (
        "alipay.toml",
        include_str!("../../../config/codes/alipay.toml"),
    ),
];

/// The built-in taxonomy.
pub fn builtin_code_tables() -> Taxonomy {
    let tables = BUILTIN
        .iter()
        .map(|(name, text)| parse(name, text))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|t| {
            Taxonomy::new(t).map_err(|e| ConfigError::invalid("codes.tables", e.to_string()))
        });
    match tables {
        Ok(t) => t,
        // The built-in tables are checked by this crate's tests; a broken one
        // is a build defect, not an input error.
        Err(e) => panic!("built-in response-code tables are invalid: {e}"),
    }
}

/// Loads `paths`, or the built-in tables when `paths` is empty.
pub fn load_code_tables(paths: &[PathBuf]) -> Result<Taxonomy, ConfigError> {
    if paths.is_empty() {
        return Ok(builtin_code_tables());
    }
    let mut tables = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let key = format!("codes.tables[{i}]");
        let text = std::fs::read_to_string(p)
            .map_err(|e| ConfigError::invalid(&key, format!("cannot read {}: {e}", p.display())))?;
        tables.push(parse(&key, &text)?);
    }
    Taxonomy::new(tables).map_err(|e| ConfigError::invalid("codes.tables", e.to_string()))
}

/// Loads the BIN table at `path` (`codes.bin_table`); a bad row is named
/// by file, row and column.
pub fn load_bin_table(path: &std::path::Path) -> Result<BinTable, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::invalid(
            "codes.bin_table",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    BinTable::parse(&text)
        .map_err(|e| ConfigError::invalid("codes.bin_table", format!("{}: {e}", path.display())))
}

/// Loads the fleet inventory at `path` (`fleet.inventory_file`): an
/// unreadable file or a header without `terminal_id` is an error; bad rows
/// come back in [`Inventory::errors`] (each names its row and column), the
/// rest loads.
pub fn load_inventory(path: &std::path::Path) -> Result<Inventory, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::invalid(
            "fleet.inventory_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    Inventory::parse(&text).map_err(|e| {
        ConfigError::invalid("fleet.inventory_file", format!("{}: {e}", path.display()))
    })
}

fn parse(key: &str, text: &str) -> Result<CodeTable, ConfigError> {
    toml::from_str(text)
        .map_err(|e: toml::de::Error| ConfigError::invalid(key, e.message().replace('\n', " ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use swipewatch_model::{OutcomeClass, RespCode, TxnStatus};

    fn class(t: &Taxonomy, scheme: &str, rc: &str) -> OutcomeClass {
        t.classify(
            Some(scheme),
            TxnStatus::Declined,
            RespCode::parse(rc),
            None,
            None,
        )
        .class
    }

    #[test]
    fn builtin_tables_follow_the_design_taxonomy() {
        use OutcomeClass::*;
        let t = builtin_code_tables();
        for (rc, want) in [
            ("51", CardholderDecline),
            ("05", IssuerPolicyDecline),
            ("91", IssuerUnavailable),
            ("96", AcquirerSwitchError),
            ("90", AcquirerSwitchError),
            ("68", HostTimeout),
            ("Z3", Comms),
            ("58", TerminalConfig),
            ("12", DeviceFault),
        ] {
            assert_eq!(class(&t, "visa", rc), want, "visa {rc}");
        }
        assert_eq!(class(&t, "unionpay", "98"), IssuerUnavailable);
        assert_eq!(class(&t, "unionpay", "97"), TerminalConfig);
        assert_eq!(class(&t, "unionpay", "51"), CardholderDecline);
        assert_eq!(t.table_for(Some("unionpay")), "unionpay");
        assert_eq!(t.table_for(Some("visa")), "iso8583");
    }

    #[test]
    fn shipped_table_files_load_from_disk() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/codes");
        let paths = BUILTIN.iter().map(|(n, _)| dir.join(n)).collect::<Vec<_>>();
        load_code_tables(&paths).expect("shipped tables are valid");
    }

    /// Every code in `tests/data/code-meanings.csv` (its published meaning
    /// and the class chosen for it) classifies to that class under its
    /// table, and every table file cites the document it follows.
    #[test]
    fn shipped_tables_cover_the_published_code_meanings() {
        let t = builtin_code_tables();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join("tests/data/code-meanings.csv"))
            .expect("code meanings");
        let mut checked = 0;
        for (i, line) in text.lines().enumerate().skip(1) {
            let cells = csv_cells(line);
            let [table, code, meaning, class_name, source] = &cells[..] else {
                panic!("line {}: five cells expected: {line}", i + 1);
            };
            assert!(!meaning.is_empty() && !source.is_empty(), "line {}", i + 1);
            let want = OutcomeClass::ALL
                .into_iter()
                .find(|c| c.name() == class_name)
                .unwrap_or_else(|| panic!("line {}: unknown class {class_name}", i + 1));
            let rc = RespCode::parse(code).unwrap_or_else(|| panic!("line {}: bad code", i + 1));
            let got = t.class_in(table, rc);
            assert_eq!(got, Some(want), "{table} {code} ({meaning})");
            checked += 1;
        }
        assert!(checked >= 200, "{checked} codes listed");
        for (name, text) in BUILTIN {
            let head: String = text.lines().take_while(|l| l.starts_with('#')).collect();
            assert!(
                !head.is_empty(),
                "{name} starts with a header naming its source"
            );
            assert!(text.contains("description = "), "{name} has a description");
        }
    }

    /// The cells of one CSV line; a quoted cell may hold commas.
    fn csv_cells(line: &str) -> Vec<String> {
        let mut cells = vec![String::new()];
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => cells.push(String::new()),
                c => cells.last_mut().expect("a cell").push(c),
            }
        }
        cells
    }

    #[test]
    fn a_missing_table_file_names_its_key() {
        let e = load_code_tables(&[PathBuf::from("/nope.toml")]).expect_err("missing");
        assert!(
            e.to_string().starts_with("config key `codes.tables[0]`"),
            "{e}"
        );
    }
}
