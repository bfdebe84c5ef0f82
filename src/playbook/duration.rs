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
}
