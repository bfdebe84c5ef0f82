//! Durations as operators write them: "90s", "5m", "1h30m", "2h".

use std::time::Duration;

/// Parses `[Nh][Nm][Ns]` in that order, at least one part, no spaces.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration; write e.g. \"90s\", \"5m\" or \"1h30m\"".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut last_unit = 0u8; // 0 none, 1 h, 2 m, 3 s: units must descend
    for ch in trimmed.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let (rank, scale) = match ch {
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => {
                return Err(format!(
                    "bad duration \"{text}\": unexpected '{ch}'; write e.g. \"90s\", \"5m\" or \"1h30m\""
                ));
            }
        };
        if digits.is_empty() {
            return Err(format!(
                "bad duration \"{text}\": '{ch}' needs a number before it"
            ));
        }
        if rank <= last_unit {
            return Err(format!(
                "bad duration \"{text}\": units must go h, m, s, once each"
            ));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("bad duration \"{text}\": number too large"))?;
        total = n
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("bad duration \"{text}\": too large"))?;
        digits.clear();
        last_unit = rank;
    }
    if !digits.is_empty() {
        return Err(format!(
            "bad duration \"{text}\": number without a unit; add h, m or s"
        ));
    }
    if total == 0 {
        return Err(format!("bad duration \"{text}\": must be longer than zero"));
    }
    Ok(Duration::from_secs(total))
}

/// Short durations for probes: `20ms`, `250ms`, or any form
/// [`parse_duration`] takes (`2s`, `1m`). Milliseconds stand alone.
pub fn parse_millis(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let Some(number) = trimmed.strip_suffix("ms") else {
        return parse_duration(trimmed)
            .map_err(|e| format!("{e}; short durations are written in ms, e.g. \"20ms\""));
    };
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "bad duration \"{text}\": write whole milliseconds, e.g. \"20ms\""
        ));
    }
    let ms: u64 = number
        .parse()
        .map_err(|_| format!("bad duration \"{text}\": number too large"))?;
    if ms == 0 {
        return Err(format!("bad duration \"{text}\": must be longer than zero"));
    }
    Ok(Duration::from_millis(ms))
}

/// `20ms`, `2s`, `1m30s`: the written form [`parse_millis`] reads back.
pub fn format_millis(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) && ms > 0 {
        format_duration(d)
    } else {
        format!("{ms}ms")
    }
}

/// `1:05`, `12:31`, `1:02:03`: the clock format of the runner.
pub fn format_clock(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// `90s` -> `1m30s`: the canonical written form, for exports.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1h2m3s"), Ok(Duration::from_secs(3723)));
    }

    #[test]
    fn rejects_what_is_ambiguous_or_empty() {
        for bad in [
            "",
            "5",
            "m",
            "5x",
            "1m1h",
            "5m5m",
            "0s",
            "1.5m",
            "-5m",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["90s", "5m", "1h30m", "2h", "1h2m3s"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_clock(Duration::from_secs(751)), "12:31");
        assert_eq!(format_clock(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(format_clock(Duration::ZERO), "0:00");
    }

    #[test]
    fn millisecond_forms_for_probes() {
        assert_eq!(parse_millis("20ms"), Ok(Duration::from_millis(20)));
        assert_eq!(parse_millis("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_millis("2s"), Ok(Duration::from_secs(2)));
        for bad in ["ms", "0ms", "1.5ms", "-3ms", "20 ms", "20us", ""] {
            assert!(parse_millis(bad).is_err(), "{bad:?} should be rejected");
        }
        for text in ["20ms", "250ms", "1500ms", "2s", "1m"] {
            let d = parse_millis(text).unwrap();
            assert_eq!(parse_millis(&format_millis(d)), Ok(d), "{text}");
        }
        assert_eq!(format_millis(Duration::from_millis(2000)), "2s");
        assert_eq!(format_millis(Duration::from_millis(250)), "250ms");
    }
}
