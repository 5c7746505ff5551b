//! The HTML report: one self-contained page (inline CSS, inline SVG, one small inline script for
//! the copy buttons; no CDN, no web fonts) meant to be opened as a CI artifact. Verdict and exit
//! code first, then causes, the checks table, each failure with its minimal exchange and curl
//! reproducer, the partner's choices, a latency chart, the read-back, the restore, and what
//! repeats the run: a renderer of the run's view ([`RunView`]), which holds every text.
//!
//! Everything that comes from the partner or the run is escaped with [`escape`]: a response body
//! holding `<script>` shows as text.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::error::ConformError;
use crate::model::report::{CheckStatus, LatencyRow, Report};
use crate::reports::view::{ExchangeView, RunView, VerdictKind};

/// `text` safe to place in HTML text or in a double- or single-quoted attribute, a partner's
/// control characters and bidirectional overrides shown as escapes such as `\u{1b}`.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            // A partner's control bytes and bidirectional overrides are shown, never carried:
            // line breaks and tabs stay (bodies are laid out in <pre>).
            '\n' | '\t' => s.push(c),
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                s.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
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

/// The HTML text of a report (see [`render`]).
pub fn to_html(report: &Report) -> String {
    render(&RunView::of(report))
}

/// The HTML text of a run's view: every text from the view, escaped for HTML.
pub fn render(v: &RunView) -> String {
    let mut s = String::new();
    let title = v.title;
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}: {}</title><style>{CSS}</style></head><body>\n",
        escape(&v.target)
    );
    let class = match v.verdict.kind {
        VerdictKind::Error => "error",
        VerdictKind::Pass => "pass",
        VerdictKind::Fail => "fail",
    };
    let _ = write!(
        s,
        "<h1>{title}</h1>\n<div class=\"verdict {class}\" id=\"verdict\">{} · exit code {}</div>\n",
        escape(&v.verdict.text),
        v.exit_code
    );
    let _ = writeln!(
        s,
        "<p class=\"meta\">target <code>{}</code> · profile {} · seed {} · {} cases · {} requests · {}</p>",
        escape(&v.target),
        escape(&v.profile),
        v.seed,
        v.cases,
        v.requests,
        v.seconds
    );
    if let Some((of, what)) = &v.replay_of {
        let _ = writeln!(
            s,
            "<p class=\"meta\">replay of <code>{}</code>: {what}</p>",
            escape(of)
        );
    }
    for w in &v.warnings {
        let _ = writeln!(s, "<p class=\"meta\">warning: {}</p>", escape(w));
    }

    if !v.causes.is_empty() {
        let _ = write!(
            s,
            "<h2>Causes</h2>\n<p class=\"meta\">Failed checks that come from the same exchanges, grouped.</p>\n"
        );
        for c in &v.causes {
            let _ = write!(
                s,
                "<div class=\"cause\"><h3><span class=\"sev {sev}\">{sev}</span>cause {}: {}</h3>\
                 <div class=\"label\">checks: {}</div>",
                c.number,
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

    if !v.calls.is_empty() {
        s.push_str("<h2>Calls</h2>\n<ul id=\"calls\">\n");
        for l in &v.calls {
            let _ = writeln!(s, "<li>{}</li>", escape(l));
        }
        s.push_str("</ul>\n");
    }
    if !v.coverage.groups.is_empty() {
        s.push_str("<h2>Coverage</h2>\n<p class=\"meta\">Checks this run could not carry out in full, and what would let them run.</p>\n<table id=\"coverage\"><thead><tr><th>check</th><th>severity</th><th>effect</th><th>missing</th><th>why</th><th>how to provide it</th></tr></thead><tbody>\n");
        for g in &v.coverage.groups {
            for r in &g.rows {
                let _ = writeln!(
                    s,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&r.check),
                    escape(&r.severity),
                    r.effect,
                    escape(g.missing),
                    escape(&r.why),
                    escape(g.remedy)
                );
            }
        }
        s.push_str("</tbody></table>\n");
    }

    s.push_str("<h2>Checks</h2>\n<table id=\"checks\"><thead><tr><th>check</th><th>severity</th><th>category</th><th class=\"num\">passed</th><th class=\"num\">failed</th><th>result</th></tr></thead><tbody>\n");
    let mut call = "";
    for c in &v.checks {
        if c.call != call {
            call = &c.call;
            let _ = writeln!(
                s,
                "<tr class=\"call\"><th colspan=\"6\">{}</th></tr>",
                escape(call)
            );
        }
        let cls = match c.status {
            CheckStatus::Passed => "st-passed",
            CheckStatus::Failed => "st-failed",
            CheckStatus::Skipped => "st-skipped",
        };
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{cls}\">{}</td></tr>",
            escape(&c.id),
            escape(&c.severity),
            escape(c.category.as_str()),
            c.passed,
            c.failed,
            escape(&c.result)
        );
    }
    s.push_str("</tbody></table>\n");

    if !v.failures.is_empty() {
        s.push_str("<h2>Failures (minimal requests)</h2>\n");
    }
    for (n, f) in v.failures.iter().enumerate() {
        let _ = write!(
            s,
            "<div class=\"failure\" id=\"failure-{}\"><h3><span class=\"sev {sev}\">{sev}</span><code>{}</code>: {}</h3>",
            escape(&f.check),
            escape(&f.check),
            escape(&f.message),
            sev = escape(&f.severity)
        );
        let _ = write!(s, "<div class=\"label\">{}</div>", escape(&f.case_line));
        exchanges_html(&mut s, &f.exchanges, &format!("{n}"));
        if !f.cases.is_empty() {
            let more = if f.more_cases > 0 {
                format!(", {} more not kept", f.more_cases)
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "<details class=\"cases\"><summary>every failing case as sent ({}{more})</summary>",
                f.cases.len()
            );
            for (c, case) in f.cases.iter().enumerate() {
                let _ = write!(
                    s,
                    "<details class=\"case\"><summary>{}</summary>",
                    escape(&case.title)
                );
                exchanges_html(&mut s, &case.exchanges, &format!("{n}-case{c}"));
                s.push_str("</details>");
            }
            s.push_str("</details>");
        }
        s.push_str("</div>\n");
    }

    if !v.choices.is_empty() {
        s.push_str("<h2>Partner choices</h2>\n<p class=\"meta\">Where the contract allows several answers: what this partner does (not violations).</p>\n<table id=\"choices\"><thead><tr><th>topic</th><th>choice</th><th class=\"num\">seen</th></tr></thead><tbody>\n");
        for c in &v.choices {
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

    if !v.latency.is_empty() {
        s.push_str("<h2>Latency by batch size</h2>\n<figure id=\"latency-chart\">");
        s.push_str(&latency_svg(&v.latency_rows));
        s.push_str("</figure>\n<table id=\"latency\"><thead><tr><th>items</th><th class=\"num\">n</th><th class=\"num\">p50 ms</th><th class=\"num\">p90 ms</th><th class=\"num\">p99 ms</th><th class=\"num\">max ms</th><th class=\"num\">p99 budget ms</th></tr></thead><tbody>\n");
        for l in &v.latency {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&l.batch_sizes),
                l.count,
                l.p50,
                l.p90,
                l.p99,
                l.max,
                l.budget
            );
        }
        s.push_str("</tbody></table>\n");
    }

    if let Some(b) = &v.read_back {
        s.push_str("<h2>Read-back</h2>\n<table id=\"read-back\"><tbody>\n");
        let rows = [
            ("read through", b.reader.clone()),
            ("cases read back", b.cases.clone()),
            ("kinds read back", b.kinds.join(", ")),
            ("reads", b.reads.to_string()),
            ("longest settle", b.settle.clone()),
            ("probe errors", b.errors.to_string()),
            ("settle stopped", b.stopped_waiting.join("; ")),
        ];
        for (k, val) in rows.iter().filter(|(_, val)| !val.is_empty()) {
            let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(val));
        }
        s.push_str("</tbody></table>\n");
    }

    if let Some(r) = &v.restore {
        let _ = writeln!(
            s,
            "<h2>Restore</h2>\n<p class=\"meta\" id=\"restore\">{}</p>",
            escape(&r.line)
        );
        let items = r
            .not_restored
            .iter()
            .map(|i| ("not restored", i.as_str()))
            .chain(r.never_set.iter().map(|i| (r.never_set_label, i.as_str())));
        for (what, item) in items {
            let _ = writeln!(
                s,
                "<p class=\"meta\">{}: <code>{}</code></p>",
                escape(what),
                escape(item)
            );
        }
    }

    s.push_str("<h2>Repeat this run</h2>\n");
    if let Some(cmd) = &v.repeat_command {
        let _ = write!(
            s,
            "<div class=\"label\">command <button class=\"copy\" data-target=\"repeat\">copy</button></div><pre id=\"repeat\">{}</pre>",
            escape(cmd)
        );
    }
    let (name, version, schema_version, format) = &v.tool;
    let _ = writeln!(
        s,
        "<p class=\"meta\">seed {} · {} {} · stockwire-schema {} · report format {format}</p>",
        v.seed,
        escape(name),
        escape(version),
        escape(schema_version),
    );
    let _ = write!(s, "<script>{SCRIPT}</script>\n</body></html>\n");
    s
}

/// The latency chart: p50, p90 and p99 per batch-size bucket with the p99 budget as a dashed
/// line, drawn with plotters' SVG backend.
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

/// The exchanges of one case: each request, response and curl reproducer (`id` keeps the copy
/// buttons' targets unique).
fn exchanges_html(s: &mut String, exchanges: &[ExchangeView], id: &str) {
    for (k, e) in exchanges.iter().enumerate() {
        let _ = write!(
            s,
            "<div class=\"label\">request: {}</div><pre class=\"request\">{}</pre>",
            escape(&e.request),
            escape(&e.body)
        );
        let response = match &e.response_body {
            Some(b) => format!("{}\n{b}", e.response),
            None => e.response.clone(),
        };
        let _ = write!(
            s,
            "<div class=\"label\">response</div><pre class=\"response\">{}</pre>",
            escape(&response)
        );
        if let Some(curl) = &e.curl {
            let id = format!("curl-{id}-{k}");
            let _ = write!(
                s,
                "<div class=\"label\">reproduce <button class=\"copy\" data-target=\"{id}\">copy</button></div><pre class=\"curl\" id=\"{id}\">{}</pre>",
                escape(curl)
            );
        }
    }
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
        // Control bytes (ANSI, OSC) and bidi overrides are shown, never carried.
        assert_eq!(
            escape("a\u{1b}[2J\u{1b}]8;;x\u{7}\r\n\u{202e}b"),
            "a\\u{1b}[2J\\u{1b}]8;;x\\u{7}\\u{d}\n\\u{202e}b"
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
