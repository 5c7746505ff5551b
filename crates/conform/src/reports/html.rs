//! The HTML report: one self-contained page (inline CSS, inline SVG, one small inline script for
//! the copy buttons; no CDN, no web fonts) meant to be opened as a CI artifact. Verdict and exit
//! code first, then causes, the checks table, each failure with its minimal exchange and curl
//! reproducer, the partner's choices, a latency chart, the read-back, and what repeats the run.
//!
//! Everything that comes from the partner or the run is escaped with [`escape`]: a response body
//! holding `<script>` shows as text.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::client::http::Outcome;
use crate::error::ConformError;
use crate::model::report::{CheckStatus, LatencyRow, Report};
use crate::model::vocabulary::Loss;

/// `text` safe to place in HTML text or in a double- or single-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:1.5rem;color:#1d2330;background:#fff}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
.verdict{padding:1rem 1.2rem;border-radius:8px;font-size:1.15rem;font-weight:600}
.verdict.pass{background:#e5f6ea;color:#135c2a}.verdict.fail{background:#fde8e8;color:#8a1c1c}.verdict.error{background:#fff1d6;color:#7a4b00}
.meta{color:#556;margin:.3rem 0 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef}
th{background:#f5f6fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.st-passed{color:#135c2a}.st-failed{color:#b01e1e;font-weight:600}.st-skipped{color:#777}
.failure,.cause{border:1px solid #e3e3ee;border-radius:8px;padding:.6rem 1rem;margin:.8rem 0}
.failure h3,.cause h3{font-size:1rem;margin:.2rem 0}
.sev{display:inline-block;font-size:11px;padding:0 .4rem;border-radius:4px;background:#eee;margin-right:.4rem}
.sev.MUST{background:#fbd5d5}.sev.SHOULD{background:#fdecc8}
pre{background:#f6f8fa;padding:.5rem .7rem;border-radius:6px;overflow:auto;white-space:pre-wrap;word-break:break-all;max-height:22rem;margin:.3rem 0}
.label{font-size:12px;color:#667;margin-top:.5rem}
button.copy{font-size:12px;padding:.15rem .6rem;border:1px solid #99a;border-radius:4px;background:#fff;cursor:pointer}
ul.hints{margin:.3rem 0}code{background:#f1f2f6;padding:0 .2rem;border-radius:3px}
figure{margin:0}
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('button.copy').forEach(function(b){b.addEventListener('click',function(){
var t=document.getElementById(b.dataset.target).textContent;
function done(){b.textContent='copied';setTimeout(function(){b.textContent='copy'},1500)}
if(navigator.clipboard){navigator.clipboard.writeText(t).then(done,function(){})}else{
var a=document.createElement('textarea');a.value=t;document.body.appendChild(a);a.select();document.execCommand('copy');a.remove();done()}})});
"#;

/// The HTML text of a report.
pub fn to_html(report: &Report) -> String {
    let mut s = String::new();
    let sm = &report.summary;
    let title = if report.replay_of.is_some() {
        "stockwire conform replay"
    } else {
        "stockwire conform"
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}: {}</title><style>{CSS}</style></head><body>\n",
        escape(&report.target)
    );
    let (class, verdict) = match (&report.error, sm.failed_checks) {
        (Some(e), _) => ("error", format!("Not run: {}", e.message)),
        (None, 0) => ("pass", "No violation found".to_string()),
        (None, n) => (
            "fail",
            format!(
                "{n} check{} failed ({} MUST)",
                if n == 1 { "" } else { "s" },
                sm.failed_must
            ),
        ),
    };
    let _ = write!(
        s,
        "<h1>{title}</h1>\n<div class=\"verdict {class}\" id=\"verdict\">{} · exit code {}</div>\n",
        escape(&verdict),
        sm.exit_code
    );
    let _ = writeln!(
        s,
        "<p class=\"meta\">target <code>{}</code> · profile {} · seed {} · {} cases · {} requests · {:.1} s</p>",
        escape(&report.target),
        escape(&report.profile),
        report.seed,
        sm.cases,
        sm.requests,
        sm.duration_ms as f64 / 1000.0
    );
    if let Some(of) = &report.replay_of {
        let _ = writeln!(
            s,
            "<p class=\"meta\">replay of <code>{}</code>: only its failing cases were re-sent</p>",
            escape(of)
        );
    }
    for w in &report.warnings {
        let _ = writeln!(s, "<p class=\"meta\">warning: {}</p>", escape(w));
    }

    if !report.causes.is_empty() {
        let _ = write!(
            s,
            "<h2>Causes</h2>\n<p class=\"meta\">Failed checks that come from the same exchanges, grouped.</p>\n"
        );
        for c in &report.causes {
            let _ = write!(
                s,
                "<div class=\"cause\"><h3><span class=\"sev {sev}\">{sev}</span>cause {}: {}</h3>\
                 <div class=\"label\">checks: {}</div>",
                c.id,
                escape(&c.message),
                c.checks
                    .iter()
                    .map(|id| format!("<a href=\"#failure-{0}\"><code>{0}</code></a>", escape(id)))
                    .collect::<Vec<_>>()
                    .join(", "),
                sev = escape(&c.severity),
            );
            if !c.hints.is_empty() {
                s.push_str("<ul class=\"hints\">");
                for h in &c.hints {
                    let _ = write!(s, "<li>hint: {}</li>", escape(h));
                }
                s.push_str("</ul>");
            }
            s.push_str("</div>\n");
        }
    }

    if !report.coverage.is_empty() {
        s.push_str("<h2>Coverage</h2>\n<p class=\"meta\">Checks this run could not carry out in full, and what would let them run.</p>\n<table id=\"coverage\"><thead><tr><th>check</th><th>severity</th><th>effect</th><th>missing</th><th>why</th><th>how to provide it</th></tr></thead><tbody>\n");
        for gap in &report.coverage {
            for reason in &gap.reasons {
                let _ = writeln!(
                    s,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&gap.check),
                    escape(&gap.severity),
                    loss_word(reason.effect),
                    escape(reason.missing.missing()),
                    escape(&reason.why),
                    escape(&reason.remedy)
                );
            }
        }
        s.push_str("</tbody></table>\n");
    }

    s.push_str("<h2>Checks</h2>\n<table id=\"checks\"><thead><tr><th>check</th><th>severity</th><th>category</th><th class=\"num\">passed</th><th class=\"num\">failed</th><th>result</th></tr></thead><tbody>\n");
    for c in &report.checks {
        let (cls, result) = match c.status {
            CheckStatus::Passed => ("st-passed", "passed".to_string()),
            CheckStatus::Failed => ("st-failed", "FAILED".to_string()),
            CheckStatus::Skipped => (
                "st-skipped",
                format!("skipped: {}", c.skip_reason.as_deref().unwrap_or("")),
            ),
        };
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{cls}\">{}</td></tr>",
            escape(&c.id),
            escape(&c.severity),
            escape(c.category.as_str()),
            c.passed,
            c.failed,
            escape(&result)
        );
    }
    s.push_str("</tbody></table>\n");

    if !report.failures.is_empty() {
        s.push_str("<h2>Failures (minimal requests)</h2>\n");
    }
    for (n, f) in report.failures.iter().enumerate() {
        let _ = write!(
            s,
            "<div class=\"failure\" id=\"failure-{}\"><h3><span class=\"sev {sev}\">{sev}</span><code>{}</code>: {}</h3>",
            escape(&f.check),
            escape(&f.check),
            escape(&f.message),
            sev = escape(&f.severity)
        );
        let shrink = f
            .shrink
            .as_ref()
            .filter(|i| i.steps > 0)
            .map(|i| {
                format!(
                    "; shrunk from {} to {} items in {} steps",
                    i.original_items, i.final_items, i.steps
                )
            })
            .unwrap_or_default();
        let _ = write!(
            s,
            "<div class=\"label\">case {} ({}){}; {} failure(s) in the run</div>",
            f.case_index,
            escape(&f.case_kind),
            escape(&shrink),
            f.occurrences
        );
        for (k, e) in f.exchanges.iter().enumerate() {
            let _ = write!(
                s,
                "<div class=\"label\">request: {} {}</div><pre class=\"request\">{}</pre>",
                escape(&e.request.method),
                escape(&e.request.url),
                escape(&e.request.body)
            );
            let response = match &e.outcome {
                Outcome::Response(r) => format!(
                    "HTTP {} {}\n{}",
                    r.status,
                    r.content_type.as_deref().unwrap_or("(no content-type)"),
                    r.body
                ),
                Outcome::Failure {
                    failure,
                    message,
                    elapsed_ms,
                } => format!("{failure:?} after {elapsed_ms:.0} ms: {message}"),
            };
            let _ = write!(
                s,
                "<div class=\"label\">response</div><pre class=\"response\">{}</pre>",
                escape(&response)
            );
            if let Some(curl) = f.curl.get(k) {
                let id = format!("curl-{n}-{k}");
                let _ = write!(
                    s,
                    "<div class=\"label\">reproduce <button class=\"copy\" data-target=\"{id}\">copy</button></div><pre class=\"curl\" id=\"{id}\">{}</pre>",
                    escape(curl)
                );
            }
        }
        s.push_str("</div>\n");
    }

    if !report.choices.is_empty() {
        s.push_str("<h2>Partner choices</h2>\n<p class=\"meta\">Where the contract allows several answers: what this partner does (not violations).</p>\n<table id=\"choices\"><thead><tr><th>topic</th><th>choice</th><th class=\"num\">seen</th></tr></thead><tbody>\n");
        for c in &report.choices {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                escape(&c.topic),
                escape(&c.choice),
                c.count
            );
        }
        s.push_str("</tbody></table>\n");
    }

    if !report.latency.is_empty() {
        s.push_str("<h2>Latency by batch size</h2>\n<figure id=\"latency-chart\">");
        s.push_str(&latency_svg(&report.latency));
        s.push_str("</figure>\n<table id=\"latency\"><thead><tr><th>items</th><th class=\"num\">n</th><th class=\"num\">p50 ms</th><th class=\"num\">p90 ms</th><th class=\"num\">p99 ms</th><th class=\"num\">max ms</th><th class=\"num\">p99 budget ms</th></tr></thead><tbody>\n");
        for l in &report.latency {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.0}</td></tr>",
                escape(&l.batch_sizes),
                l.count,
                l.p50_ms,
                l.p90_ms,
                l.p99_ms,
                l.max_ms,
                l.budget_ms
            );
        }
        s.push_str("</tbody></table>\n");
    }

    if let Some(b) = &report.read_back {
        s.push_str("<h2>Read-back</h2>\n<table id=\"read-back\"><tbody>\n");
        let rows = [
            ("read through", b.reader.clone()),
            (
                "cases read back",
                format!(
                    "{} of {} ({})",
                    b.cases_read,
                    report.summary.cases,
                    b.selection()
                ),
            ),
            ("kinds read back", b.kinds.join(", ")),
            ("reads", b.reads.to_string()),
            (
                "longest settle",
                format!(
                    "{:.0} ms (--stock-settle {} ms)",
                    b.settle_max_ms, b.settle_ms
                ),
            ),
            ("probe errors", b.errors.to_string()),
        ];
        for (k, v) in rows.iter().filter(|(_, v)| !v.is_empty()) {
            let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
        }
        s.push_str("</tbody></table>\n");
    }

    s.push_str("<h2>Repeat this run</h2>\n");
    if let Some(cmd) = &report.repeat_command {
        let _ = write!(
            s,
            "<div class=\"label\">command <button class=\"copy\" data-target=\"repeat\">copy</button></div><pre id=\"repeat\">{}</pre>",
            escape(cmd)
        );
    }
    let _ = writeln!(
        s,
        "<p class=\"meta\">seed {} · {} {} · stockwire-schema {} · report format {}</p>",
        report.seed,
        escape(&report.tool.name),
        escape(&report.tool.version),
        escape(&report.tool.schema_version),
        report.format
    );
    let _ = write!(s, "<script>{SCRIPT}</script>\n</body></html>\n");
    s
}

/// The latency chart: p50, p90 and p99 per batch-size bucket with the p99 budget as a dashed
/// line, drawn with plotters' SVG backend.
/// "skipped" or "weakened", for the coverage table.
fn loss_word(loss: Loss) -> &'static str {
    match loss {
        Loss::Skipped => "skipped",
        Loss::Weakened => "weakened",
    }
}

fn latency_svg(rows: &[LatencyRow]) -> String {
    let mut svg = String::new();
    if draw_latency(rows, &mut svg).is_err() {
        return String::new();
    }
    svg
}

/// A chart line: its name, colour and the value it plots.
type Series = (&'static str, RGBColor, fn(&LatencyRow) -> f64);

fn draw_latency<'a>(
    rows: &[LatencyRow],
    svg: &'a mut String,
) -> Result<(), Box<dyn std::error::Error + 'a>> {
    let root = SVGBackend::with_string(svg, (760, 340)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = rows.len();
    // Log scale: medians of a few ms and budgets of minutes share one chart.
    let top = rows
        .iter()
        .flat_map(|r| [r.p99_ms, r.budget_ms, r.max_ms])
        .fold(1.0f64, f64::max)
        * 2.0;
    let bottom = rows.iter().map(|r| r.p50_ms).fold(top, f64::min).max(0.01) / 2.0;
    let labels: Vec<String> = rows.iter().map(|r| r.batch_sizes.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "latency by batch size: p50, p90, p99 and the p99 budget",
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (bottom..top).log_scale())?;
    let label_of = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            labels
                .get(i as usize)
                .map(|l| format!("{l} items"))
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_labels(n.max(1) * 2 + 1)
        .x_label_formatter(&label_of)
        .y_desc("ms (log scale)")
        .y_label_formatter(&|v| {
            if *v >= 1.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        })
        .disable_x_mesh()
        .draw()?;
    let series: [Series; 3] = [
        ("p50", RGBColor(70, 130, 180), |r| r.p50_ms),
        ("p90", RGBColor(230, 150, 30), |r| r.p90_ms),
        ("p99", RGBColor(200, 40, 40), |r| r.p99_ms),
    ];
    for (name, color, value) in series {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i as f64, value(r)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    // The budget: one dashed segment per bucket (budgets differ by batch size).
    let grey = RGBColor(90, 90, 90);
    for (i, r) in rows.iter().enumerate() {
        let x = i as f64;
        let segment = DashedLineSeries::new(
            [(x - 0.45, r.budget_ms), (x + 0.45, r.budget_ms)],
            6,
            4,
            grey.stroke_width(2),
        );
        let drawn = chart.draw_series(segment)?;
        if i == 0 {
            drawn.label("p99 budget").legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(2))
            });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Writes the HTML report.
pub fn write_html(report: &Report, path: &Path) -> Result<(), ConformError> {
    crate::reports::report::write_file(path, &to_html(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_latency_chart_is_an_svg_with_the_budget_line() {
        let row = |b: &str, p: f64| LatencyRow {
            batch_sizes: b.into(),
            count: 10,
            p50_ms: p,
            p90_ms: p * 2.0,
            p99_ms: p * 3.0,
            max_ms: p * 4.0,
            budget_ms: 2000.0,
        };
        let svg = latency_svg(&[row("0-1", 3.0), row("2-10", 5.0)]);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("p99 budget"), "{svg}");
        assert!(svg.contains("2-10 items"), "{svg}");
    }
}
