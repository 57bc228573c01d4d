//! Dates and durations as Kafka's tools print and parse them: `perf consume`'s
//! `yyyy-MM-dd HH:mm:ss:SSS` times and `groups --reset-offsets`' `--to-datetime` (ISO-8601
//! local date-time, optional offset) and `--by-duration` (ISO-8601 `PnDTnHnMnS`).

use anyhow::{bail, Context};
use chrono::{DateTime, Local, NaiveDateTime, TimeZone};

/// Milliseconds since the epoch as Kafka's ConsumerPerformance prints them (local time).
pub fn kafka_time(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S:%3f").to_string(),
        None => ms.to_string(),
    }
}

/// Parses `--to-datetime` like Kafka's `Utils.getDateTime`: `YYYY-MM-DDTHH:mm:SS.sss`, in the
/// local time zone unless an offset (`Z`, `+hh:mm`, `-hhmm`) follows. Seconds and milliseconds
/// may be left out. Returns milliseconds since the epoch.
pub fn parse_datetime(s: &str) -> anyhow::Result<i64> {
    let Some((_, time)) = s.split_once('T') else {
        bail!(
            "--to-datetime {s:?}: expected ISO-8601 YYYY-MM-DDTHH:mm:SS.sss (the 'T' is missing)"
        );
    };
    let has_zone = time.contains(['Z', '+', '-']);
    if has_zone {
        for f in [
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
            "%Y-%m-%dT%H:%M%:z",
            "%Y-%m-%dT%H:%M%z",
        ] {
            if let Ok(t) = DateTime::parse_from_str(&s.replace('Z', "+00:00"), f) {
                return Ok(t.timestamp_millis());
            }
        }
    } else {
        for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                return Local
                    .from_local_datetime(&t)
                    .earliest()
                    .map(|t| t.timestamp_millis())
                    .with_context(|| format!("--to-datetime {s:?}: no such local time"));
            }
        }
    }
    bail!("--to-datetime {s:?}: expected ISO-8601 YYYY-MM-DDTHH:mm:SS.sss, optionally with an offset such as Z or +01:00")
}

/// Parses `--by-duration` as Java's `Duration.parse` does for the `PnDTnHnMn.nS` form (days,
/// hours, minutes, seconds with a fraction; a leading `-` negates). Returns milliseconds.
pub fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let bad = || {
        anyhow::anyhow!(
            "--by-duration {s:?}: expected ISO-8601 PnDTnHnMnS, e.g. PT1H30M or P1DT12H"
        )
    };
    let upper = s.trim().to_ascii_uppercase();
    let (negative, rest) = match upper.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, upper.strip_prefix('+').unwrap_or(&upper)),
    };
    let rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut ms: f64 = 0.0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, f64)]| -> anyhow::Result<()> {
        let mut number = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                number.push(c);
                continue;
            }
            let i = units[next_unit..]
                .iter()
                .position(|(u, _)| *u == c)
                .ok_or_else(bad)?;
            let (_, scale) = units[next_unit + i];
            let n: f64 = number.parse().map_err(|_| bad())?;
            ms += n * scale;
            any = true;
            number.clear();
            next_unit += i + 1;
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    take(date, &[('D', 86_400_000.0)])?;
    if let Some(t) = time {
        take(t, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1000.0)])?;
    }
    if !any {
        return Err(bad());
    }
    let ms = ms.round() as i64;
    Ok(if negative { -ms } else { ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_with_offset_is_absolute() {
        assert_eq!(
            parse_datetime("2026-11-22T10:00:00.000Z").ok(),
            Some(1_795_341_600_000)
        );
        assert_eq!(
            parse_datetime("2026-11-22T11:00:00.000+01:00").ok(),
            Some(1_795_341_600_000)
        );
        assert_eq!(
            parse_datetime("2026-11-22T10:00:00.250Z").ok(),
            Some(1_795_341_600_250)
        );
        assert_eq!(
            parse_datetime("2026-11-22T10:00:00Z").ok(),
            Some(1_795_341_600_000)
        );
    }

    #[test]
    fn datetime_without_offset_is_local() {
        let local = parse_datetime("2026-11-22T10:00:00.000").ok();
        let expected = Local
            .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
            .earliest()
            .map(|t| t.timestamp_millis());
        assert_eq!(local, expected);
    }

    #[test]
    fn bad_datetimes_are_refused() {
        for s in [
            "2026-11-22",
            "yesterday",
            "2026-13-01T00:00:00",
            "2026-11-22T25:00",
        ] {
            assert!(parse_datetime(s).is_err(), "{s}");
        }
    }

    #[test]
    fn durations_parse_like_java() {
        assert_eq!(parse_duration("PT1H30M").ok(), Some(5_400_000));
        assert_eq!(parse_duration("P1DT12H").ok(), Some(129_600_000));
        assert_eq!(parse_duration("PT0.5S").ok(), Some(500));
        assert_eq!(parse_duration("P2D").ok(), Some(172_800_000));
        assert_eq!(parse_duration("-PT10M").ok(), Some(-600_000));
        assert_eq!(parse_duration("pt15m").ok(), Some(900_000));
    }

    #[test]
    fn bad_durations_are_refused() {
        for s in ["", "P", "PT", "1H", "PT1X", "PT1M1H", "PT5", "P1H"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
    }
}
