//! Skills: calendar (injected clock) and arithmetic; how the pipeline runs them.

#![allow(clippy::field_reassign_with_default)]

mod common;

use chatplug_dialogue::skills::arithmetic::{answer as calc, format_number};
use chatplug_dialogue::skills::datetime::*;
use chatplug_dialogue::*;
use common::*;
use std::sync::Arc;

fn cal(query: &str) -> Option<String> {
    CalendarSkill::new(wednesday(), 480).answer(query)
}

#[test]
fn date_arithmetic() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(
        civil_from_days(days_from_civil(2024, 2, 29) + 1),
        (2024, 3, 1)
    );
    assert_eq!(
        civil_from_days(days_from_civil(2023, 12, 31) + 1),
        (2024, 1, 1)
    );
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
    assert_eq!(weekday_index(days_from_civil(2024, 5, 15)), 2, "Wednesday");
    assert_eq!(weekday_index(days_from_civil(2023, 1, 1)), 6, "Sunday");
    for d in -800_000..-799_000 {
        let (y, m, dd) = civil_from_days(d);
        assert_eq!(days_from_civil(y, m, dd), d);
    }
}

#[test]
fn current_time() {
    assert_eq!(
        cal("现在几点了").unwrap(),
        "现在北京时间是 2024年5月15日9点30分"
    );
    assert_eq!(
        cal("北京时间是多少").unwrap(),
        "现在北京时间是 2024年5月15日9点30分"
    );
    assert_eq!(
        CalendarSkill::new(wednesday(), 0)
            .answer("现在几点")
            .unwrap(),
        "现在时间是 2024年5月15日9点30分"
    );
}

#[test]
fn relative_days() {
    assert_eq!(cal("今天几号").unwrap(), "今天是2024年5月15日");
    assert_eq!(cal("明天是几号？").unwrap(), "明天是2024年5月16日");
    assert_eq!(cal("后天是什么日子").unwrap(), "后天是2024年5月17日");
    assert_eq!(cal("大后天是几号").unwrap(), "大后天是2024年5月18日");
    assert_eq!(cal("昨天是几号").unwrap(), "昨天是2024年5月14日");
    assert_eq!(cal("大前天是哪天").unwrap(), "大前天是2024年5月12日");
}

#[test]
fn weekdays_of_weeks() {
    assert_eq!(cal("下周一是几号").unwrap(), "下周一是2024年5月20日");
    assert_eq!(cal("这周五是几号").unwrap(), "这周五是2024年5月17日");
    assert_eq!(cal("周日是什么日子").unwrap(), "周日是2024年5月19日");
    assert_eq!(cal("上周日是几号").unwrap(), "上周日是2024年5月12日");
    assert_eq!(cal("下下周三是几号").unwrap(), "下下周三是2024年5月29日");
    assert_eq!(cal("上上周一是哪天").unwrap(), "上上周一是2024年4月29日");
}

#[test]
fn weekday_of_a_day() {
    assert_eq!(cal("今天星期几").unwrap(), "今天是周三");
    assert_eq!(cal("明天周几").unwrap(), "明天是周四");
    assert_eq!(cal("大后天礼拜几").unwrap(), "大后天是周六");
    assert_eq!(cal("前天星期几").unwrap(), "前天是周一");
    let sunday = CalendarSkill::new(
        Arc::new(FixedClock(LocalDateTime::new(2024, 5, 18, 0, 0))),
        480,
    );
    assert_eq!(sunday.answer("明天星期几").unwrap(), "明天是周日");
}

#[test]
fn holidays() {
    assert_eq!(cal("春节是几号").unwrap(), "2024年的春节是2月10日");
    assert_eq!(cal("明年中秋节是哪天").unwrap(), "2025年的中秋节是10月6日");
    assert_eq!(cal("去年端午是几号").unwrap(), "2023年的端午节是6月22日");
    assert_eq!(cal("清明节是什么时候").unwrap(), "2024年的清明节是4月4日");
    assert_eq!(cal("国庆几号").unwrap(), "2024年的国庆节是10月1日");
    assert_eq!(cal("五一是哪一天").unwrap(), "2024年的劳动节是5月1日");
    assert_eq!(cal("元旦是几月几号").unwrap(), "2024年的元旦是1月1日");
    let far = CalendarSkill::new(
        Arc::new(FixedClock(LocalDateTime::new(2050, 1, 1, 0, 0))),
        480,
    );
    assert_eq!(far.answer("春节是几号"), None, "outside the table");
    assert_eq!(far.answer("国庆几号").unwrap(), "2050年的国庆节是10月1日");
}

#[test]
fn not_calendar_questions() {
    for q in [
        "你好",
        "今天好开心",
        "我明天去北京",
        "春节快乐",
        "今天杭州天气怎么样",
    ] {
        assert_eq!(cal(q), None, "{q}");
    }
}

#[test]
fn system_clock_is_sane() {
    let now = SystemClock {
        offset_minutes: 480,
    }
    .now();
    assert!(
        now.year >= 2024
            && (1..=12).contains(&now.month)
            && (1..=31).contains(&now.day)
            && now.hour < 24
    );
}

#[test]
fn arithmetic() {
    for (q, a) in [
        ("1+1等于几", "1+1等于2"),
        ("3加5等于多少？", "3加5等于8"),
        ("12 × (3+4) = ?", "12 × (3+4)等于84"),
        ("一百除以四是多少", "一百除以四等于25"),
        ("算一下 7/2", "7/2等于3.5"),
        ("计算2的", ""),
        ("十二乘以十二等于几", "十二乘以十二等于144"),
        ("两千三百减一", ""),
        ("两千三百减一等于多少", "两千三百减一等于2299"),
        ("1/3=", "1/3等于0.333333"),
        ("三点五加一点五等于几", "三点五加一点五等于5"),
        ("10-20是多少", "10-20等于-10"),
        ("１２＋３＝？", "１２＋３等于15"),
        ("一万二千加三百等于几", "一万二千加三百等于12300"),
        ("5除以0等于几", "除数不能是0哦"),
    ] {
        let got = calc(q);
        if a.is_empty() {
            assert_eq!(got, None, "{q}");
        } else {
            assert_eq!(got.as_deref(), Some(a), "{q}");
        }
    }
}

#[test]
fn not_arithmetic() {
    for q in [
        "1+1",
        "三个人",
        "5是多少",
        "你好",
        "3加",
        "(1+2",
        "1++2等于几",
        "我有2个苹果和3个梨一共几个",
        "几点了",
        "十点",
    ] {
        assert_eq!(calc(q), None, "{q}");
    }
    assert_eq!(format_number(2.0), "2");
    assert_eq!(format_number(-0.5), "-0.5");
    assert_eq!(format_number(1.0 / 3.0), "0.333333");
}

#[test]
fn pipeline_triggers_skills_directly() {
    let mut c = Config::default();
    c.skills_direct_trigger = true;
    let p = pipeline(c);
    let r = p
        .chat(
            &ChatRequest::new("明天是几号"),
            &ScriptedGenerator::new("x"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Skill);
    assert_eq!(r.response, "明天是2024年5月16日");
    assert_eq!(r.debug.skill.as_ref().unwrap().name, "calendar");
    let r = p
        .chat(
            &ChatRequest::new("3加5等于几"),
            &ScriptedGenerator::new("x"),
        )
        .unwrap();
    assert_eq!(
        (r.response_type, r.response.as_str()),
        (ResponseType::Skill, "3加5等于8")
    );
}

#[test]
fn reference_behaviour_without_direct_trigger() {
    let mut c = Config::default();
    c.skills_direct_trigger = false;
    let p = pipeline(c);
    let g = ScriptedGenerator::new("好的");
    let r = p.chat(&ChatRequest::new("明天是几号"), &g).unwrap();
    assert_eq!(r.response_type, ResponseType::Model);
}

#[test]
fn disabled_skills_do_not_answer() {
    let mut c = Config::default();
    c.skills_direct_trigger = true;
    c.skills = vec!["arithmetic".into()];
    let p = pipeline(c);
    let r = p
        .chat(
            &ChatRequest::new("明天是几号"),
            &ScriptedGenerator::new("好的"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Model);
    let r = p
        .chat(
            &ChatRequest::new("1+2等于几"),
            &ScriptedGenerator::new("好的"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Skill);
}

#[test]
fn skill_names() {
    use chatplug_dialogue::skills::canonical_name;
    assert_eq!(canonical_name("$$$查日期$$$"), Some("calendar"));
    assert_eq!(canonical_name("arithmetic"), Some("arithmetic"));
    assert_eq!(canonical_name("$$$藏头诗$$$"), None);
}
