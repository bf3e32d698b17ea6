//! Detection of full card numbers (PANs) in raw payloads.
//!
//! The scan runs on the raw bytes before any parsing, so a card number never
//! reaches a decoded structure, an error message or a log line. A candidate is
//! a run of 13–19 digits, optionally grouped by single spaces or dashes (as
//! printed on receipts), that passes the Luhn check. The one exception is the
//! value of the `ts` key: an epoch-milliseconds timestamp has 13 digits and is
//! not a card number.
//!
//! A number can hide behind spellings the bytes do not show: a JSON escape
//! (`"\u0034111…"`, an escaped dash between groups) or full-width digits
//! (`４１１１…`, U+FF10–U+FF19). A payload holding either is first rewritten
//! with those characters as plain ASCII, then scanned the same way, so what a
//! JSON parser would hand on is what is scanned.

/// Shortest card number (ISO/IEC 7812).
const MIN_DIGITS: usize = 13;
/// Longest card number.
const MAX_DIGITS: usize = 19;

/// True when `bytes` contains something that looks like a full card number,
/// written plainly, with JSON escapes or with full-width digits.
pub fn contains_card_number(bytes: &[u8]) -> bool {
    scan(bytes) || (may_hide_digits(bytes) && scan(&normalized(bytes)))
}

/// True when `bytes` holds a JSON `\u` escape, the UTF-8 lead byte of a
/// full-width form or an ideographic space: only then can a digit, space or
/// dash be spelled in a way the plain scan does not read.
fn may_hide_digits(bytes: &[u8]) -> bool {
    // One vectorized search rules out nearly every payload (plain ASCII
    // JSON without a backslash).
    if memchr::memchr3(b'\\', 0xE3, 0xEF, bytes).is_none() {
        return false;
    }
    bytes.iter().enumerate().any(|(i, &b)| match b {
        0xEF => true,
        0xE3 => bytes.get(i + 1..i + 3) == Some(&[0x80, 0x80]),
        b'\\' => bytes.get(i + 1) == Some(&b'u'),
        _ => false,
    })
}

/// `bytes` with every escaped or full-width digit, space and dash written as
/// one ASCII byte; everything else is kept as it is.
fn normalized(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some((ascii, width)) = hidden_char(&bytes[i..]) {
            out.push(ascii);
            i += width;
        } else {
            // An escaped backslash is kept whole, so `\\u0034` stays text.
            let width = if bytes[i] == b'\\' && i + 1 < bytes.len() {
                2
            } else {
                1
            };
            out.extend_from_slice(&bytes[i..i + width]);
            i += width;
        }
    }
    out
}

/// The ASCII digit, space or dash that `bytes` starts with in another
/// spelling, and how many bytes that spelling takes.
fn hidden_char(bytes: &[u8]) -> Option<(u8, usize)> {
    let ascii = |c: u32| match char::from_u32(c)? {
        c @ ('0'..='9' | ' ' | '-') => u8::try_from(c).ok(),
        c @ '\u{FF10}'..='\u{FF19}' => u8::try_from(u32::from(c) - 0xFF10 + u32::from(b'0')).ok(),
        '\u{FF0D}' => Some(b'-'),
        '\u{3000}' => Some(b' '),
        _ => None,
    };
    match bytes {
        [b'\\', b'u', h @ ..] if h.len() >= 4 => {
            let hex = std::str::from_utf8(&h[..4]).ok()?;
            let code = u32::from_str_radix(hex, 16).ok()?;
            Some((ascii(code)?, 6))
        }
        [0xEF | 0xE3, ..] if bytes.len() >= 3 => {
            let c = std::str::from_utf8(&bytes[..3]).ok()?.chars().next()?;
            Some((ascii(u32::from(c))?, 3))
        }
        _ => None,
    }
}

/// The scan proper, over bytes where every digit is ASCII.
fn scan(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = [0u8; MAX_DIGITS];
        let mut n = 0usize;
        let mut too_long = false;
        // Consume digits, allowing one space or dash between two digits.
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_digit() {
                if n < MAX_DIGITS {
                    digits[n] = b - b'0';
                } else {
                    too_long = true;
                }
                n += 1;
                i += 1;
            } else if (b == b' ' || b == b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            } else {
                break;
            }
        }
        if !too_long
            && (MIN_DIGITS..=MAX_DIGITS).contains(&n)
            && luhn(&digits[..n])
            && !is_ts_value(bytes, start)
        {
            return true;
        }
    }
    false
}

/// The Luhn (mod 10) check used by every card scheme.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// True when the number starting at `start` is the value of a `"ts"` key.
fn is_ts_value(bytes: &[u8], start: usize) -> bool {
    let mut j = start;
    let skip_ws = |j: &mut usize| {
        while *j > 0 && bytes[*j - 1].is_ascii_whitespace() {
            *j -= 1;
        }
    };
    if j > 0 && bytes[j - 1] == b'"' {
        j -= 1;
    }
    skip_ws(&mut j);
    if j == 0 || bytes[j - 1] != b':' {
        return false;
    }
    j -= 1;
    skip_ws(&mut j);
    j >= 4 && &bytes[j - 4..j] == b"\"ts\""
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VISA_TEST: &str = "4111111111111111";

    #[test]
    fn a_plain_card_number_anywhere_is_found() {
        assert!(contains_card_number(br#"{"pan":"4111111111111111"}"#));
        assert!(contains_card_number(
            br#"{"note":"card 4111 1111 1111 1111 used"}"#
        ));
        assert!(
            contains_card_number(br#"{"x":[378282246310005]}"#),
            "15-digit amex, as a number"
        );
        assert!(
            contains_card_number(br#"{"bin":"6212345678901232"}"#),
            "unionpay"
        );
    }

    #[test]
    fn numbers_failing_luhn_or_length_are_not_card_numbers() {
        assert!(!contains_card_number(br#"{"pan":"4111111111111112"}"#));
        assert!(!contains_card_number(
            br#"{"bin":"411111","seq":123456789012}"#
        ));
        assert!(
            !contains_card_number(br#"{"x":"41111111111111111111111"}"#),
            "23 digits"
        );
    }

    #[test]
    fn an_epoch_millisecond_timestamp_is_not_a_card_number() {
        // 1732460000000 passes Luhn; as the value of "ts" it is a timestamp.
        assert!(luhn(&[1, 7, 3, 2, 4, 6, 0, 0, 0, 0, 0, 0, 0]));
        assert!(!contains_card_number(br#"{"ts": 1732460000000}"#));
        assert!(!contains_card_number(br#"{"ts":"1732460000000"}"#));
        assert!(contains_card_number(br#"{"other":1732460000000}"#));
    }

    #[test]
    fn rfc3339_timestamps_and_uuids_are_not_card_numbers() {
        assert!(!contains_card_number(
            br#"{"ts":"2026-11-24T10:00:00.123Z","event_id":"6f1c2a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"}"#
        ));
    }

    proptest! {
        #[test]
        fn any_luhn_valid_pan_embedded_in_text_is_found(body in proptest::collection::vec(0u8..10, 12..=18), prefix in "[a-z \":,{]{0,20}") {
            // Complete `body` with the check digit that makes it Luhn-valid.
            let check = (0u8..10).find(|c| { let mut d = body.clone(); d.push(*c); luhn(&d) }).unwrap_or(0);
            let pan: String = body.iter().chain(std::iter::once(&check)).map(|d| char::from(b'0' + d)).collect();
            let payload = format!("{prefix}\"{pan}\"}}");
            prop_assert!(contains_card_number(payload.as_bytes()));
        }
    }

    #[test]
    fn a_card_number_spelled_with_json_escapes_is_found() {
        assert!(contains_card_number(
            br#"{"terminal_id":"\u0034111111111111111"}"#
        ));
        assert!(
            contains_card_number(br#"{"note":"4111\u002d1111\u002D1111\u002d1111"}"#),
            "grouped with escaped dashes"
        );
        assert!(
            contains_card_number(br#"{"note":"4111\u00201111 1111 1111"}"#),
            "grouped with an escaped space"
        );
        let every_digit: String = VISA_TEST
            .chars()
            .map(|c| format!("\\u{:04x}", u32::from(c)))
            .collect();
        assert!(contains_card_number(
            format!(r#"{{"pan":"{every_digit}"}}"#).as_bytes()
        ));
    }

    #[test]
    fn a_card_number_in_full_width_digits_is_found() {
        let wide: String = VISA_TEST
            .chars()
            .filter_map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xFF10))
            .collect();
        assert!(contains_card_number(
            format!(r#"{{"note":"{wide}"}}"#).as_bytes()
        ));
        let grouped = format!("{}\u{3000}{}", &wide[..12], &wide[12..]);
        assert!(contains_card_number(
            format!(r#"{{"note":"{grouped}"}}"#).as_bytes()
        ));
    }

    #[test]
    fn escapes_that_spell_no_card_number_stay_text() {
        assert!(
            !contains_card_number(br#"{"note":"\\u0034111111111111111"}"#),
            "an escaped backslash: the text is a backslash, a u and 15 digits"
        );
        assert!(!contains_card_number(
            "{\"merchant\":\"\u{5317}\u{4eac}\u{3000}\u{5e97}\",\"ts\":\"\\u0031732460000000\"}"
                .as_bytes()
        ));
        assert!(!contains_card_number(br#"{"x":"\u00zz4111"}"#));
    }

    #[test]
    fn luhn_accepts_the_classic_test_number() {
        let d: Vec<u8> = VISA_TEST.bytes().map(|b| b - b'0').collect();
        assert!(luhn(&d));
    }
}
