//! The arithmetic skill: "3加5等于几", "12 × (3+4) = ?", "一百除以四是多少". Language
//! models are unreliable at arithmetic; a parser is not.

use regex::Regex;
use std::sync::OnceLock;

fn question_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:请问|请你|请|帮我|你知道|你能|能不能|能|告诉我)*",
            r"(?P<verb>算一下|算算|计算一下|计算|算)?",
            r"(?P<expr>[0-9０-９.．零〇一二两三四五六七八九十百千万点\s+＋\-－*＊/／×xX÷()（）加减乘除以]+?)",
            r"(?P<tail>\s*(?:等于|=|＝|是)\s*(?:多少|几|什么|啥)?|\s*(?:多少|几)|\s*[=＝])?",
            r"\s*(?:呢|啊|呀|吗)?\s*(?P<q>[?？]*)\s*$"
        ))
        .unwrap()
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Op(char),
    Open,
    Close,
}

fn cn_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn is_cn_num(c: char) -> bool {
    cn_digit(c).is_some() || matches!(c, '十' | '百' | '千' | '万' | '点')
}

/// A Chinese numeral: `十二`, `一百零五`, `两千三百`, `一万二千`, `三点五`, `一二三`.
fn parse_cn_number(s: &str) -> Option<f64> {
    let (int_part, frac_part) = match s.split_once('点') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let has_unit = int_part
        .chars()
        .any(|c| matches!(c, '十' | '百' | '千' | '万'));
    let int_value: u64 = if int_part.is_empty() {
        0
    } else if !has_unit {
        let mut v = 0u64;
        for c in int_part.chars() {
            v = v.checked_mul(10)?.checked_add(cn_digit(c)?)?;
        }
        v
    } else {
        let (mut total, mut section, mut digit) = (0u64, 0u64, None::<u64>);
        for c in int_part.chars() {
            if let Some(d) = cn_digit(c) {
                if digit.is_some() && d != 0 {
                    return None; // two digits in a row with units: ambiguous
                }
                digit = if d == 0 { digit } else { Some(d) };
                continue;
            }
            let unit = match c {
                '十' => 10,
                '百' => 100,
                '千' => 1000,
                '万' => {
                    total = (total + section + digit.take().unwrap_or(0)) * 10_000;
                    section = 0;
                    continue;
                }
                _ => return None,
            };
            section += digit.take().unwrap_or(1) * unit;
        }
        total + section + digit.unwrap_or(0)
    };
    let mut value = int_value as f64;
    if let Some(frac) = frac_part {
        if frac.is_empty() {
            return None;
        }
        let mut scale = 0.1;
        for c in frac.chars() {
            value += cn_digit(c)? as f64 * scale;
            scale /= 10.0;
        }
    }
    Some(value)
}

fn normalize_char(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '．' => '.',
        '＋' => '+',
        '－' => '-',
        '＊' | '×' | 'x' | 'X' => '*',
        '／' | '÷' => '/',
        '（' => '(',
        '）' => ')',
        _ => c,
    }
}

fn tokenize(expr: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = expr
        .chars()
        .map(normalize_char)
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..].iter().take(2).collect();
        if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            toks.push(Tok::Num(s.parse().ok()?));
            continue;
        }
        if is_cn_num(c) {
            let start = i;
            while i < chars.len() && is_cn_num(chars[i]) {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            toks.push(Tok::Num(parse_cn_number(&s)?));
            continue;
        }
        let (tok, len) = match c {
            '+' | '加' => (Tok::Op('+'), 1),
            '-' | '减' => (Tok::Op('-'), 1),
            '*' => (Tok::Op('*'), 1),
            '/' => (Tok::Op('/'), 1),
            '(' => (Tok::Open, 1),
            ')' => (Tok::Close, 1),
            '乘' if rest == "乘以" => (Tok::Op('*'), 2),
            '乘' => (Tok::Op('*'), 1),
            '除' if rest == "除以" => (Tok::Op('/'), 2),
            _ => return None,
        };
        toks.push(tok);
        i += len;
    }
    Some(toks)
}

#[derive(Debug)]
enum EvalError {
    Syntax,
    DivideByZero,
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn expr(&mut self) -> Result<f64, EvalError> {
        let mut v = self.term()?;
        while let Some(Tok::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            let r = self.term()?;
            v = if op == '+' { v + r } else { v - r };
        }
        Ok(v)
    }
    fn term(&mut self) -> Result<f64, EvalError> {
        let mut v = self.factor()?;
        while let Some(Tok::Op(op @ ('*' | '/'))) = self.peek().cloned() {
            self.pos += 1;
            let r = self.factor()?;
            if op == '*' {
                v *= r;
            } else {
                if r == 0.0 {
                    return Err(EvalError::DivideByZero);
                }
                v /= r;
            }
        }
        Ok(v)
    }
    fn factor(&mut self) -> Result<f64, EvalError> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Op('-')) => {
                self.pos += 1;
                Ok(-self.factor()?)
            }
            Some(Tok::Open) => {
                self.pos += 1;
                let v = self.expr()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(EvalError::Syntax);
                }
                self.pos += 1;
                Ok(v)
            }
            _ => Err(EvalError::Syntax),
        }
    }
}

/// Formats a result: integers without a decimal point, others with at most six
/// decimals.
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The answer, or `None` when the query is not an arithmetic question.
pub fn answer(query: &str) -> Option<String> {
    let c = question_re().captures(query.trim())?;
    let expr = c.name("expr")?.as_str().trim();
    let asked = c.name("verb").is_some()
        || c.name("tail")
            .is_some_and(|m| !m.as_str().trim().is_empty())
        || c.name("q").is_some_and(|m| !m.as_str().is_empty());
    if !asked {
        return None;
    }
    let toks = tokenize(expr)?;
    // At least one binary operator between numbers: "3" or "-5" alone is no sum.
    let ops = toks
        .windows(2)
        .filter(|w| matches!(w, [Tok::Num(_) | Tok::Close, Tok::Op(_)]))
        .count();
    if ops == 0 {
        return None;
    }
    let mut p = Parser { toks, pos: 0 };
    match p.expr() {
        Ok(v) if p.pos == p.toks.len() && v.is_finite() => {
            Some(format!("{expr}等于{}", format_number(v)))
        }
        Ok(_) => None,
        Err(EvalError::DivideByZero) if p.toks.len() > 2 => Some("除数不能是0哦".to_string()),
        Err(_) => None,
    }
}
