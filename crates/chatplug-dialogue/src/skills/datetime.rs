//! The calendar skill: current time, the date of today / tomorrow / next Monday...,
//! the weekday of a day, and the date of Chinese public holidays. The clock is
//! injected so answers are testable.

use regex::Regex;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// A local calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDateTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

impl LocalDateTime {
    pub fn new(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> Self {
        LocalDateTime {
            year,
            month,
            day,
            hour,
            minute,
        }
    }
}

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> LocalDateTime;
}

/// The system clock at a fixed offset from UTC.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    pub offset_minutes: i32,
}

impl Clock for SystemClock {
    fn now(&self) -> LocalDateTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
            + i64::from(self.offset_minutes) * 60;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        LocalDateTime::new(y, m, d, (rem / 3600) as u32, ((rem % 3600) / 60) as u32)
    }
}

/// A clock that always says the same time.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub LocalDateTime);

impl Clock for FixedClock {
    fn now(&self) -> LocalDateTime {
        self.0
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// Monday = 0 … Sunday = 6.
pub fn weekday_index(days: i64) -> usize {
    (days + 3).rem_euclid(7) as usize
}

const WEEKDAY_CN: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];

/// Lunar-calendar and solar-term holidays by Gregorian date, 2020–2040 (from the
/// Chinese calendar): (year, 春节, 清明, 端午, 中秋) as (month, day).
/// (month, day).
type MonthDay = (u32, u32);

const MOVABLE_HOLIDAYS: &[(i32, MonthDay, MonthDay, MonthDay, MonthDay)] = &[
    (2020, (1, 25), (4, 4), (6, 25), (10, 1)),
    (2021, (2, 12), (4, 4), (6, 14), (9, 21)),
    (2022, (2, 1), (4, 5), (6, 3), (9, 10)),
    (2023, (1, 22), (4, 5), (6, 22), (9, 29)),
    (2024, (2, 10), (4, 4), (6, 10), (9, 17)),
    (2025, (1, 29), (4, 4), (5, 31), (10, 6)),
    (2026, (2, 17), (4, 5), (6, 19), (9, 25)),
    (2027, (2, 6), (4, 5), (6, 9), (9, 15)),
    (2028, (1, 26), (4, 4), (5, 28), (10, 3)),
    (2029, (2, 13), (4, 4), (6, 16), (9, 22)),
    (2030, (2, 3), (4, 5), (6, 5), (9, 12)),
    (2031, (1, 23), (4, 5), (6, 24), (10, 1)),
    (2032, (2, 11), (4, 4), (6, 12), (9, 19)),
    (2033, (1, 31), (4, 4), (6, 1), (9, 8)),
    (2034, (2, 19), (4, 5), (6, 20), (9, 27)),
    (2035, (2, 8), (4, 5), (6, 10), (9, 16)),
    (2036, (1, 28), (4, 4), (5, 30), (10, 4)),
    (2037, (2, 15), (4, 4), (6, 18), (9, 24)),
    (2038, (2, 4), (4, 5), (6, 7), (9, 13)),
    (2039, (1, 24), (4, 5), (5, 27), (10, 2)),
    (2040, (2, 12), (4, 4), (6, 14), (9, 20)),
];

struct Patterns {
    time: Regex,
    day: Regex,
    week_day: Regex,
    weekday_of: Regex,
    holiday: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        time: Regex::new("(北京|现在|当前|今日).*(几点|时间)").unwrap(),
        day: Regex::new("(今天|明天|后天|大后天|昨天|前天|大前天|今日|昨日|明日).*(什么|啥|几|哪)(时间|时候|号|日期|日子|天)").unwrap(),
        week_day: Regex::new("(下周|周|这周|上周|上上周|下下周)([一二三四五六天日]).*(什么|啥|几|哪)(时间|时候|号|日期|日子|天)").unwrap(),
        weekday_of: Regex::new("(今天|明天|后天|大后天|昨天|前天|大前天|今日|昨日|明日).*(星期几|周几|礼拜几)").unwrap(),
        holiday: Regex::new("(明年|去年|今年)?的?(元旦|春节|清明|劳动节|五一|端午|中秋|国庆)节?.*(几号|哪天|哪一天|什么时候|几月几|日期)").unwrap(),
    })
}

fn day_shift(word: &str) -> Option<i64> {
    Some(match word {
        "今天" | "今日" => 0,
        "明天" | "明日" => 1,
        "后天" => 2,
        "大后天" => 3,
        "昨天" | "昨日" => -1,
        "前天" => -2,
        "大前天" => -3,
        _ => return None,
    })
}

fn week_shift(word: &str) -> Option<i64> {
    Some(match word {
        "周" | "这周" => 0,
        "下周" => 1,
        "上周" => -1,
        "下下周" => 2,
        "上上周" => -2,
        _ => return None,
    })
}

fn weekday_of_char(c: &str) -> Option<i64> {
    Some(match c {
        "一" => 0,
        "二" => 1,
        "三" => 2,
        "四" => 3,
        "五" => 4,
        "六" => 5,
        "七" | "日" | "天" => 6,
        _ => return None,
    })
}

/// The calendar skill.
#[derive(Clone)]
pub struct CalendarSkill {
    clock: Arc<dyn Clock>,
    offset_minutes: i32,
}

impl CalendarSkill {
    pub fn new(clock: Arc<dyn Clock>, offset_minutes: i32) -> Self {
        CalendarSkill {
            clock,
            offset_minutes,
        }
    }

    /// The answer, or `None` when the query is not a calendar question.
    pub fn answer(&self, query: &str) -> Option<String> {
        let p = patterns();
        let now = self.clock.now();
        let today = days_from_civil(now.year, now.month, now.day);
        let date = |days: i64| {
            let (y, m, d) = civil_from_days(days);
            format!("{y}年{m}月{d}日")
        };
        if p.time.is_match(query) {
            let zone = if self.offset_minutes == 480 {
                "北京时间"
            } else {
                "时间"
            };
            return Some(format!(
                "现在{zone}是 {}年{}月{}日{}点{}分",
                now.year, now.month, now.day, now.hour, now.minute
            ));
        }
        if let Some(c) = p.day.captures(query) {
            let w = c.get(1)?.as_str();
            return Some(format!("{w}是{}", date(today + day_shift(w)?)));
        }
        if let Some(c) = p.week_day.captures(query) {
            let (wk, wd) = (c.get(1)?.as_str(), c.get(2)?.as_str());
            let shift = week_shift(wk)? * 7 + weekday_of_char(wd)? - weekday_index(today) as i64;
            return Some(format!("{wk}{wd}是{}", date(today + shift)));
        }
        if let Some(c) = p.weekday_of.captures(query) {
            let w = c.get(1)?.as_str();
            let d = today + day_shift(w)?;
            return Some(format!("{w}是周{}", WEEKDAY_CN[weekday_index(d)]));
        }
        if let Some(c) = p.holiday.captures(query) {
            let year = now.year
                + match c.get(1).map(|m| m.as_str()) {
                    Some("明年") => 1,
                    Some("去年") => -1,
                    _ => 0,
                };
            let (name, (m, d)) = holiday_date(c.get(2)?.as_str(), year)?;
            return Some(format!("{year}年的{name}是{m}月{d}日"));
        }
        None
    }
}

/// A holiday's display name and date in `year`.
fn holiday_date(word: &str, year: i32) -> Option<(&'static str, (u32, u32))> {
    let movable = || MOVABLE_HOLIDAYS.iter().find(|h| h.0 == year);
    Some(match word {
        "元旦" => ("元旦", (1, 1)),
        "劳动节" | "五一" => ("劳动节", (5, 1)),
        "国庆" => ("国庆节", (10, 1)),
        "春节" => ("春节", movable()?.1),
        "清明" => ("清明节", movable()?.2),
        "端午" => ("端午节", movable()?.3),
        "中秋" => ("中秋节", movable()?.4),
        _ => return None,
    })
}
