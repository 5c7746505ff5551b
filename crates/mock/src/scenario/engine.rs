//! The engine: a compiled scenario with its run-time state (rule counters, per-item send
//! counts, token rules and rate-limit buckets), and the evaluation of every rule against one
//! request.
//!
//! Evaluation is deterministic and independent of arrival order: a rule's random draw is a
//! hash of the seed, the rule and the request's own content (the seller and the items; for an
//! item rule, that item and how many times it was sent before), so concurrent clients touching
//! disjoint items see the same failures on every run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::draw::{fnv, mix, unit};
use super::effects::{Act, AnswerEffects, DelayDist, Z99, round_ms};
use super::error::ScenarioError;
use super::file::Scenario;
use super::matches::{RequestFacts, audit, item_conditions, request_conditions};
use super::ratelimit::Limiter;
use super::rules::CRule;
use super::tokens::TokenRule;

/// A rule that fired, as recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fired {
    /// The rule's name.
    pub rule: String,
    /// What it did (`fail 2 items: Mismatch`, `status 503`, `delay 250ms`, …).
    pub effect: String,
}

/// The outcome of evaluating the scenario for one request.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Per item: the failure message a rule gave it; empty when no rule failed an item.
    pub item_failures: Vec<Option<String>>,
    pub answer: AnswerEffects,
    pub fired: Vec<Fired>,
    /// When rules exist and none fired: why the nearest one did not.
    pub explain: Option<String>,
}

/// The identity of one request's content for the random draws: the seller and, per item,
/// its ids and how many times the seller sent it before.
struct DrawKeys {
    request: u64,
    items: Vec<u64>,
}

/// Most (seller, item) send counts remembered; past this the counts start afresh.
const MAX_SEND_COUNTS: usize = 1_000_000;

/// A compiled scenario with its run-time state (rule counters, per-item send counts, token
/// rules and rate-limit buckets).
#[derive(Debug)]
pub struct Engine {
    scenario: Scenario,
    rules: Vec<CRule>,
    fired_counts: Vec<AtomicU64>,
    /// Whether any rule draws random numbers (only then are send counts kept).
    random: bool,
    /// How many times each (seller, item) was sent, keyed by a hash of both.
    sent: Mutex<HashMap<u64, u32>>,
    pub(crate) token_rules: Vec<TokenRule>,
    pub(crate) limiter: Option<Limiter>,
}

impl Engine {
    /// Compiles a scenario.
    pub fn new(scenario: Scenario) -> Result<Engine, ScenarioError> {
        let rules = scenario.compile("scenario")?;
        let token_rules = scenario
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| TokenRule::compile(i, t, "scenario"))
            .collect::<Result<Vec<_>, _>>()?;
        let limiter = Limiter::compile(&scenario.rate_limits, "scenario")?;
        Ok(Engine {
            fired_counts: rules.iter().map(|_| AtomicU64::new(0)).collect(),
            random: rules.iter().any(CRule::is_random),
            sent: Mutex::new(HashMap::new()),
            rules,
            token_rules,
            limiter,
            scenario,
        })
    }

    /// The scenario this engine runs.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Clears rule counters, send counts and rate-limit buckets.
    pub fn reset(&self) {
        for c in &self.fired_counts {
            c.store(0, Ordering::SeqCst);
        }
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clear();
        if let Some(l) = &self.limiter {
            l.reset();
        }
    }

    /// How many times each rule fired, by name.
    pub fn fire_counts(&self) -> Vec<(String, u64)> {
        self.rules
            .iter()
            .zip(&self.fired_counts)
            .map(|(r, c)| (r.name.clone(), c.load(Ordering::SeqCst)))
            .collect()
    }

    /// Whether the scenario has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether any rule scripts the call with this id.
    pub(crate) fn scripts(&self, call: &str) -> bool {
        self.rules.iter().any(|r| r.call() == call)
    }

    /// One line per rule, token lifetime and rate limit, for `stockwire mock check`.
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let mut when = Vec::new();
                if let Some(d) = r.when.daily {
                    when.push(format!("daily {}", d.describe()));
                }
                if let Some(p) = r.when.probability {
                    when.push(format!("probability {p}"));
                }
                let acts: Vec<String> = r
                    .acts
                    .iter()
                    .map(|a| match a {
                        Act::Fail(m) => format!("fail `{m}`"),
                        Act::Delay(DelayDist::LogNormal { mu, sigma, max }) => format!(
                            "delay p50 {} p99 {} (max {})",
                            humantime::format_duration(round_ms(Duration::from_secs_f64(mu.exp()))),
                            humantime::format_duration(round_ms(Duration::from_secs_f64(
                                (mu + Z99 * sigma).exp().min(max.as_secs_f64())
                            ))),
                            humantime::format_duration(*max)
                        ),
                        other => {
                            let mut a = AnswerEffects::default();
                            other
                                .apply(&mut a, &r.name, &mut || 0.5)
                                .unwrap_or_default()
                        }
                    })
                    .collect();
                format!(
                    "rule {}{}: {}",
                    r.name,
                    if when.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", when.join(", "))
                    },
                    acts.join(", ")
                )
            })
            .collect();
        out.extend(self.token_rules.iter().map(TokenRule::describe));
        if let Some(l) = &self.limiter {
            out.extend(l.describe().into_iter().map(|d| format!("rate limit {d}")));
        }
        out
    }

    /// Counts this request's items as sent and derives the keys of its draws.
    fn draw_keys(&self, req: &RequestFacts<'_>) -> DrawKeys {
        let seed = self.scenario.seed;
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if sent.len() > MAX_SEND_COUNTS {
            sent.clear();
        }
        let mut bump = |k: u64| {
            let c = sent.entry(k).or_insert(0);
            *c += 1;
            u64::from(*c)
        };
        let seller = req.seller.as_bytes();
        if req.call != stockwire_schema::call::UPDATE_INVENTORY.id {
            // A catalog call has no items: its draws are keyed by the seller, the call, the
            // page and how many times the seller asked for that page.
            let page = req.page.unwrap_or(0).to_le_bytes();
            let id = fnv(&[seller, req.call.as_bytes(), &page]);
            let request = mix(seed ^ mix(id ^ mix(bump(id))));
            return DrawKeys {
                request,
                items: Vec::new(),
            };
        }
        let items: Vec<u64> = req
            .items
            .iter()
            .map(|i| {
                let id = fnv(&[
                    seller,
                    i.product.unwrap_or("").as_bytes(),
                    i.variant.unwrap_or("").as_bytes(),
                ]);
                mix(seed ^ mix(id ^ mix(bump(id))))
            })
            .collect();
        let mut request = mix(seed ^ fnv(&[seller]));
        for k in &items {
            request = mix(request ^ k);
        }
        if items.is_empty() {
            // An empty request has no items to count: count the seller's empty requests.
            request = mix(request ^ bump(fnv(&[seller, b"<empty>"])));
        }
        DrawKeys { request, items }
    }

    /// Evaluates every rule against a request.
    pub(crate) fn evaluate(&self, req: &RequestFacts<'_>) -> Verdict {
        // `item_failures` stays empty (no allocation) until an item rule fails an item.
        let mut v = Verdict::default();
        if self.rules.is_empty() {
            return v;
        }
        let keys = self.random.then(|| self.draw_keys(req));
        // Answer rules first: an answer that replaces processing (status, close) leaves the
        // item rules unfired, so the journal only names rules that shaped the answer.
        for item_pass in [false, true] {
            if item_pass && (v.answer.status.is_some() || v.answer.close) {
                break;
            }
            self.pass(req, keys.as_ref(), item_pass, &mut v);
        }
        if v.fired.is_empty() {
            v.explain = Some(self.explain(req));
        }
        v
    }

    fn pass(
        &self,
        req: &RequestFacts<'_>,
        keys: Option<&DrawKeys>,
        item_pass: bool,
        v: &mut Verdict,
    ) {
        for (idx, rule) in self.rules.iter().enumerate() {
            if rule.is_item_rule() != item_pass {
                continue;
            }
            if let Some(t) = rule.times
                && self.fired_counts[idx].load(Ordering::SeqCst) >= t
            {
                continue;
            }
            if !request_conditions(&rule.when, req) {
                continue;
            }
            // Each rule draws from its own stream, keyed by its position.
            let rule_salt = mix(idx as u64 + 1);
            if let Some(msg) = rule.fail_message() {
                let mut hits = 0usize;
                for (i, item) in req.items.iter().enumerate() {
                    if !item.eligible || v.item_failures.get(i).is_some_and(Option::is_some) {
                        continue;
                    }
                    let drawn = || {
                        let k = keys.and_then(|k| k.items.get(i)).copied().unwrap_or(0);
                        unit(k ^ rule_salt)
                    };
                    if item_conditions(&rule.when, item)
                        && rule.when.probability.is_none_or(|p| drawn() < p)
                    {
                        if v.item_failures.is_empty() {
                            v.item_failures = vec![None; req.items.len()];
                        }
                        v.item_failures[i] = Some(msg.to_string());
                        hits += 1;
                    }
                }
                if hits > 0 {
                    self.fired_counts[idx].fetch_add(1, Ordering::SeqCst);
                    v.fired.push(Fired {
                        rule: rule.name.clone(),
                        effect: format!(
                            "fail {hits} item{}: {msg}",
                            if hits == 1 { "" } else { "s" }
                        ),
                    });
                }
                continue;
            }
            if rule.has_item_conditions()
                && !req.items.iter().any(|i| item_conditions(&rule.when, i))
            {
                continue;
            }
            let base = keys.map_or(0, |k| k.request) ^ rule_salt;
            if let Some(p) = rule.when.probability
                && unit(base) >= p
            {
                continue;
            }
            self.fired_counts[idx].fetch_add(1, Ordering::SeqCst);
            let mut n = 0u64;
            let mut u = || {
                n += 1;
                unit(base ^ mix(n))
            };
            let did: Vec<String> = rule
                .acts
                .iter()
                .filter_map(|a| a.apply(&mut v.answer, &rule.name, &mut u))
                .collect();
            v.fired.push(Fired {
                rule: rule.name.clone(),
                effect: if did.is_empty() {
                    "nothing (overridden by an earlier rule)".into()
                } else {
                    did.join(", ")
                },
            });
        }
    }

    /// Why no rule fired: the rule with the most conditions met and the first one it missed.
    fn explain(&self, req: &RequestFacts<'_>) -> String {
        // Every rule is scored without writing anything; only the nearest one's reason is
        // written (this runs on every request that fires nothing).
        let mut best: Option<(usize, usize, &CRule, bool)> = None;
        for (idx, rule) in self.rules.iter().enumerate() {
            if rule.call() != req.call {
                continue;
            }
            let a = audit(&rule.when, req, false);
            if best.as_ref().is_none_or(|(_, m, _, _)| a.met > *m) {
                best = Some((idx, a.met, rule, a.failed));
            }
        }
        let Some((idx, _, rule, failed)) = best else {
            return "no rule fired".into();
        };
        let why = match audit(&rule.when, req, true).missed {
            Some(m) if failed => m,
            _ => match rule.times {
                Some(t) if self.fired_counts[idx].load(Ordering::SeqCst) >= t => {
                    format!("it already fired {t} time(s) (times = {t})")
                }
                _ => match rule.when.probability {
                    Some(p) => format!("its probability draw ({p}) missed"),
                    None => "the items it matches had already failed".into(),
                },
            },
        };
        format!(
            "no rule fired; nearest: `{}`, not fired because {why}",
            rule.name
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::scenario::{Format, ItemFacts};

    fn engine(toml: &str) -> Engine {
        Engine::new(Scenario::parse(toml, Format::Toml, "t").unwrap()).unwrap()
    }

    fn item<'a>(p: &'a str, v: &'a str, inv: u64) -> ItemFacts<'a> {
        ItemFacts {
            product: Some(p),
            variant: Some(v),
            facility: None,
            inventory: Some(inv),
            eligible: true,
        }
    }

    fn run(e: &Engine, n: u64, items: &[ItemFacts<'_>]) -> Verdict {
        e.evaluate(&RequestFacts {
            call: stockwire_schema::call::UPDATE_INVENTORY.id,
            page: None,
            seller: "demo",
            n,
            elapsed: Duration::from_secs(1),
            wall: Duration::from_secs(1_767_225_600),
            items,
        })
    }

    #[test]
    fn item_rules_fail_matching_items_only() {
        let e = engine(
            r#"
            [[rules]]
            name = "x"
            match = { productId = { glob = "SKU-X*" } }
            effect = { fail = "Mismatch" }
            "#,
        );
        let v = run(&e, 1, &[item("SKU-X1", "A", 1), item("SKU-Y", "A", 1)]);
        assert_eq!(v.item_failures, vec![Some("Mismatch".into()), None]);
        assert_eq!(v.fired[0].effect, "fail 1 item: Mismatch");
    }

    #[test]
    fn every_third_request_and_sequences() {
        let e = engine(
            r#"
            [[rules]]
            match = { request = { every = 3 } }
            effect = { status = 503 }
            [[rules]]
            name = "first-two"
            times = 2
            effect = { status = 500 }
            "#,
        );
        let statuses: Vec<Option<u16>> = (1..=7)
            .map(|n| run(&e, n, &[item("P", "V", 1)]).answer.status.map(|s| s.0))
            .collect();
        assert_eq!(
            statuses,
            [Some(500), Some(500), Some(503), None, None, Some(503), None]
        );
    }

    #[test]
    fn same_seed_same_draws() {
        let text =
            "seed = 9\n[[rules]]\nmatch = { probability = 0.5 }\neffect = { status = 502 }\n";
        let draws = |e: &Engine| -> Vec<bool> {
            (1..=40)
                .map(|n| run(e, n, &[]).answer.status.is_some())
                .collect()
        };
        let a = draws(&engine(text));
        assert_eq!(a, draws(&engine(text)));
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
        let e = engine(text);
        let first = draws(&e);
        e.reset();
        assert_eq!(first, draws(&e));
    }

    #[test]
    fn explains_the_nearest_rule() {
        let e = engine(
            r#"
            [[rules]]
            name = "sku-x"
            match = { productId = "SKU-X", seller = "demo" }
            effect = { fail = "Mismatch" }
            [[rules]]
            name = "late"
            match = { request = 100 }
            effect = { status = 503 }
            "#,
        );
        let v = run(&e, 1, &[item("SKU-Y", "V", 1)]);
        let why = v.explain.unwrap();
        assert!(
            why.contains("`sku-x`") && why.contains("wanted `SKU-X`, got `SKU-Y`"),
            "{why}"
        );
    }

    #[test]
    fn item_draws_do_not_depend_on_arrival_order() {
        let text =
            "seed = 4\n[[rules]]\nmatch = { probability = 0.5 }\neffect = { fail = 'Flaky' }\n";
        let ids: Vec<String> = (0..40).map(|i| format!("P{i}")).collect();
        // Each item is sent three times; the arrival order differs between the two runs.
        let outcome = |order: &[usize]| {
            let e = engine(text);
            let mut seen: BTreeMap<(usize, u32), bool> = BTreeMap::new();
            let mut sends: BTreeMap<usize, u32> = BTreeMap::new();
            for &i in order {
                let v = run(&e, 1, &[item(&ids[i], "V", 1)]);
                let k = sends.entry(i).or_insert(0);
                *k += 1;
                seen.insert(
                    (i, *k),
                    v.item_failures.first().is_some_and(Option::is_some),
                );
            }
            seen
        };
        let forward: Vec<usize> = (0..3).flat_map(|_| 0..40).collect();
        let backward: Vec<usize> = (0..3).flat_map(|_| (0..40).rev()).collect();
        let a = outcome(&forward);
        assert_eq!(a, outcome(&backward));
        let failed = a.values().filter(|f| **f).count();
        assert!((30..=90).contains(&failed), "{failed} of 120 failed");
        // A retry of the same item gets a fresh draw: not every item fails all three times.
        assert!((0..40).any(|i| a[&(i, 1)] != a[&(i, 2)] || a[&(i, 2)] != a[&(i, 3)]));
    }

    #[test]
    fn daily_windows_use_the_wall_clock() {
        let e = engine(
            "[[rules]]\nname = 'nightly'\nmatch = { daily = { from = '02:00', to = '02:15' } }\neffect = { status = 503 }\n",
        );
        let at = |h: u64, m: u64| {
            e.evaluate(&RequestFacts {
                call: stockwire_schema::call::UPDATE_INVENTORY.id,
                page: None,
                seller: "demo",
                n: 1,
                elapsed: Duration::ZERO,
                wall: crate::clock::Clock::now(&crate::clock::ManualClock::at_utc(h, m)),
                items: &[],
            })
        };
        assert_eq!(at(2, 5).answer.status.map(|s| s.0), Some(503));
        let v = at(3, 0);
        assert!(v.answer.status.is_none());
        assert!(
            v.explain
                .unwrap()
                .contains("03:00 UTC is outside 02:00–02:15 UTC")
        );
    }

    #[test]
    fn delays_follow_their_distribution() {
        let e = engine(
            "seed = 1\n[[rules]]\nmatch = { batchSize = 1 }\neffect = { delay = { p50 = '100ms', p99 = '1s' } }\n",
        );
        let mut d: Vec<Duration> = (0..2000)
            .map(|i| {
                let p = format!("P{i}");
                run(&e, 1, &[item(&p, "V", 1)]).answer.delay
            })
            .collect();
        d.sort();
        let (p50, p99) = (d[1000], d[1980]);
        assert!(
            p50 > Duration::from_millis(85) && p50 < Duration::from_millis(115),
            "{p50:?}"
        );
        assert!(
            p99 > Duration::from_millis(700) && p99 < Duration::from_millis(1400),
            "{p99:?}"
        );
        assert!(d[1999] <= Duration::from_secs(10));
        let err = Scenario::parse(
            "[[rules]]\neffect = { delay = { p50 = '1s', p99 = '10ms' } }",
            Format::Toml,
            "s",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("delay.p99"), "{err}");
    }
}
