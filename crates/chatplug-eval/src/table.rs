//! A readable table of a report (metrics as rows; all items, then each category, as
//! columns), for a person at a terminal. Scores are shown as percentages with one
//! decimal; an absent metric as `-`.

use crate::summary::{Report, Summary};

type Cell = fn(&Summary) -> Option<String>;

fn percent(value: Option<f64>) -> Option<String> {
    value.map(|v| format!("{:.1}", v * 100.0))
}

fn plain(value: Option<f64>) -> Option<String> {
    value.map(|v| format!("{v:.1}"))
}

const ROWS: [(&str, Cell); 13] = [
    ("items", |s| Some(s.items.to_string())),
    ("BLEU-1 %", |s| percent(s.bleu1)),
    ("BLEU-2 %", |s| percent(s.bleu2)),
    ("BLEU-4 %", |s| percent(s.bleu4)),
    ("ROUGE-L %", |s| percent(s.rouge_l)),
    ("F1 %", |s| percent(s.f1)),
    ("Distinct-1 %", |s| percent(s.distinct1)),
    ("Distinct-2 %", |s| percent(s.distinct2)),
    ("Knowledge-F1 %", |s| percent(s.knowledge_f1)),
    ("answer hit %", |s| percent(s.answer_hit)),
    ("reply length", |s| plain(s.reply_len)),
    ("latency p50 ms", |s| plain(s.latency_ms_p50)),
    ("latency p90 ms", |s| plain(s.latency_ms_p90)),
];

pub fn render_table(report: &Report) -> String {
    let mut columns: Vec<(&str, &Summary)> = vec![("all", &report.overall)];
    columns.extend(
        report
            .by_category
            .iter()
            .map(|(name, s)| (name.as_str(), s)),
    );
    let label_width = ROWS
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let cells: Vec<Vec<String>> = ROWS
        .iter()
        .map(|(_, cell)| {
            columns
                .iter()
                .map(|(_, s)| cell(s).unwrap_or_else(|| "-".into()))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(c, (name, _))| {
            cells
                .iter()
                .map(|row| row[c].chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("{:label_width$}", "");
    for ((name, _), width) in columns.iter().zip(&widths) {
        out.push_str(&format!("  {name:>width$}"));
    }
    out.push('\n');
    for ((label, _), row) in ROWS.iter().zip(&cells) {
        out.push_str(&format!("{label:label_width$}"));
        for (value, width) in row.iter().zip(&widths) {
            out.push_str(&format!("  {value:>width$}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{report, Record};

    #[test]
    fn one_row_per_metric_one_column_per_category() {
        let record = |category: &str, prediction: &str| Record {
            category: Some(category.into()),
            prediction: prediction.into(),
            reference: Some("你好".into()),
            answers: Vec::new(),
            knowledge: Vec::new(),
            latency_ms: Some(12.0),
        };
        let table = render_table(&report(&[
            record("persona", "你好"),
            record("chitchat", "嗯"),
        ]));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 14);
        assert!(lines[0].ends_with("all  chitchat  persona"), "{table}");
        assert!(
            lines[5].starts_with("ROUGE-L %") && lines[5].ends_with("50.0       0.0    100.0"),
            "{table}"
        );
        assert!(lines[9].trim_end().ends_with("-"), "{table}");
    }
}
