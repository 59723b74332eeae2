//! The usage ledger: what each reply cost, who asked and where; and the caller's totals for
//! this UTC day and month (`bot:usage`).

use super::Bot;
use crate::{
    store::{StoreError, UsageTotals},
    wire::{UsageReport, UsageTotal},
};

const DAY_MS: i64 = 86_400_000;

/// The starts of the UTC day and month holding `now_ms`, in milliseconds.
pub fn day_and_month_start(now_ms: i64) -> (i64, i64) {
    let days = now_ms.div_euclid(DAY_MS);
    let (_, _, day) = crate::clock::civil_from_days(days);
    (days * DAY_MS, (days - (day - 1)) * DAY_MS)
}

fn total(t: UsageTotals) -> UsageTotal {
    UsageTotal {
        prompt_tokens: t.prompt_tokens,
        completion_tokens: t.completion_tokens,
        replies: t.replies,
    }
}

impl Bot {
    /// What the replies `user` asked for cost today and this month, in `room` or everywhere.
    pub async fn usage(&self, user: &str, room: Option<&str>) -> Result<UsageReport, StoreError> {
        let (day, month) = day_and_month_start(crate::clock::now_ms());
        Ok(UsageReport {
            today: total(self.0.store.usage_since(user, room, day).await?),
            month: total(self.0.store.usage_since(user, room, month).await?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::day_and_month_start;

    #[test]
    fn days_and_months_start_at_utc_midnight() {
        // 2023-11-14 22:13:20 UTC
        let (day, month) = day_and_month_start(1_700_000_000_000);
        assert_eq!(day, 1_699_920_000_000, "2023-11-14 00:00");
        assert_eq!(month, 1_698_796_800_000, "2023-11-01 00:00");
    }
}
