//! The time an append is recorded at: the system's clock, as `chrono::Utc::now` reads it, with
//! the calendar date worked out once a day on each thread rather than at every append (it was
//! a twentieth of an append's time).

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

const SECONDS_A_DAY: u64 = 86_400;

thread_local! {
    /// The day (counted from the Unix epoch) this thread read last, and its date.
    static TODAY: Cell<Option<(u64, NaiveDate)>> = const { Cell::new(None) };
}

/// Now, in UTC.
pub(crate) fn now() -> DateTime<Utc> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(since_the_epoch)
        .unwrap_or_else(Utc::now)
}

/// The time `since` after the Unix epoch; `None` past chrono's range.
fn since_the_epoch(since: Duration) -> Option<DateTime<Utc>> {
    let seconds = since.as_secs();
    let day = seconds / SECONDS_A_DAY;
    let date = match TODAY.get() {
        Some((today, date)) if today == day => date,
        _ => {
            let date = DateTime::from_timestamp(i64::try_from(seconds).ok()?, 0)?.date_naive();
            TODAY.set(Some((day, date)));
            date
        }
    };
    let time = NaiveTime::from_num_seconds_from_midnight_opt(
        (seconds % SECONDS_A_DAY) as u32,
        since.subsec_nanos(),
    )?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_chrono_reads_across_days() {
        let day = Duration::from_secs(SECONDS_A_DAY);
        let start = Duration::new(1_764_633_600, 0) - Duration::from_nanos(1);
        for offset in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(1_500),
            day,
            day * 400 + Duration::from_nanos(123_456_789),
            Duration::from_nanos(7),
        ] {
            let since = start + offset;
            let expected = DateTime::from_timestamp(since.as_secs() as i64, since.subsec_nanos());
            assert_eq!(since_the_epoch(since), expected, "{since:?}");
        }
    }

    #[test]
    fn now_is_chrono_now() {
        let before = Utc::now();
        let now = now();
        let after = Utc::now();
        assert!(before <= now && now <= after, "{before} {now} {after}");
    }
}
