//! Rules as written (`[[rules]]`: a match, an effect and `times`, which makes sequences such as
//! "the first two requests get 503, then normal") and compiled.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stockwire_schema::call;
use stockwire_schema::exchange::field;

use super::effects::{Act, Effect};
use super::error::{ScenarioError, duration};
use super::matches::{CMatch, Match, RequestMatch, bounds};
use super::pattern::{CPattern, Pattern};
use crate::clock::DailyWindow;

/// One rule: when it matches, and what it does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name, used in the journal and in answers (default `rule-N`, 1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The conditions, all of which must hold (an empty match matches every request).
    #[serde(rename = "match", default)]
    pub when: Match,
    /// Fire at most this many times (requests), then never again until a reset: sequences
    /// such as "the first two requests get 503, then normal".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub times: Option<u64>,
    /// What the rule does.
    pub effect: Effect,
}

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct CRule {
    pub name: String,
    pub(super) when: CMatch,
    pub(super) times: Option<u64>,
    pub acts: Vec<Act>,
}

impl CRule {
    /// Checks rule `i` (0-based) and compiles it; `origin` names the scenario in errors.
    pub(super) fn compile(i: usize, r: &Rule, origin: &str) -> Result<CRule, ScenarioError> {
        let name = r.name.clone().unwrap_or_else(|| format!("rule-{}", i + 1));
        let err = |message: String| ScenarioError::Rule {
            origin: origin.to_string(),
            rule: name.clone(),
            message,
        };
        let m = &r.when;
        let pat = |p: &Option<Pattern>, f: &str| {
            p.as_ref()
                .map(|p| CPattern::compile(p, f, &err))
                .transpose()
        };
        if let Some(p) = m.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(err(format!("probability must be between 0 and 1, got {p}")));
        }
        if let Some(RequestMatch::Every(e)) = &m.request
            && e.every == 0
        {
            return Err(err("request.every must be at least 1".into()));
        }
        if r.times == Some(0) {
            return Err(err("times must be at least 1".into()));
        }
        let elapsed = match &m.elapsed {
            None => None,
            Some(e) => Some((
                e.after
                    .as_deref()
                    .map(|t| duration(t, "elapsed.after", &err))
                    .transpose()?
                    .unwrap_or(Duration::ZERO),
                e.before
                    .as_deref()
                    .map(|t| duration(t, "elapsed.before", &err))
                    .transpose()?
                    .unwrap_or(Duration::MAX),
            )),
        };
        let daily = m
            .daily
            .as_ref()
            .map(|d| DailyWindow::parse(&d.from, &d.to).map_err(|e| err(format!("daily: {e}"))))
            .transpose()?;
        let call = call_of(m, r, &err)?;
        let when = CMatch {
            call,
            page: m.page.as_ref().map(bounds),
            product: pat(&m.product_id, field::PRODUCT_ID)?,
            variant: pat(&m.variant_id, field::VARIANT_ID)?,
            facility: pat(&m.facility_code, field::FACILITY_CODE)?,
            inventory: m.inventory.as_ref().map(bounds),
            seller: pat(&m.seller, "seller")?,
            batch: m.batch_size.as_ref().map(bounds),
            request: m.request.clone(),
            elapsed,
            daily,
            probability: m.probability,
        };
        let acts = Act::compile_all(&r.effect, &err)?;
        Ok(CRule {
            name,
            when,
            times: r.times,
            acts,
        })
    }

    /// The id of the call the rule scripts.
    pub(super) fn call(&self) -> &'static str {
        self.when.call
    }

    /// The message of an item rule (`fail`).
    pub(super) fn fail_message(&self) -> Option<&str> {
        match self.acts.first() {
            Some(Act::Fail(m)) => Some(m),
            _ => None,
        }
    }

    /// Whether the rule fails items (`fail`) rather than shaping the answer.
    pub(super) fn is_item_rule(&self) -> bool {
        self.fail_message().is_some()
    }

    /// Whether the rule's match has item conditions.
    pub(super) fn has_item_conditions(&self) -> bool {
        self.when.has_item_conditions()
    }

    /// Whether the rule draws random numbers (a probability, a jitter, a delay distribution).
    pub(super) fn is_random(&self) -> bool {
        self.when.probability.is_some() || self.acts.iter().any(Act::is_random)
    }
}

/// The id of the call a rule scripts (the update's without `call`), after checking that its
/// conditions and effects are ones that call has.
fn call_of(
    m: &Match,
    r: &Rule,
    err: &dyn Fn(String) -> ScenarioError,
) -> Result<&'static str, ScenarioError> {
    let update = call::UPDATE_INVENTORY.id;
    let def = match m.call.as_deref() {
        None => &call::UPDATE_INVENTORY,
        Some(id) => match call::find(id) {
            Some(d) if d.id == update || d.count().is_some() || d.listing().is_some() => d,
            _ => {
                return Err(err(format!(
                    "call `{id}` is not a call rules script: use `{update}`, `{}` or `{}`",
                    call::PRODUCTS_COUNT.id,
                    call::PRODUCTS.id
                )));
            }
        },
    };
    let e = &r.effect;
    if def.id == update {
        if m.page.is_some() {
            return Err(err(format!(
                "`page` is the listing's: add `call = \"{}\"`",
                call::PRODUCTS.id
            )));
        }
        if e.break_listing.is_some() {
            return Err(err(format!(
                "`breakListing` breaks a catalog call's answer: add `call = \"{}\"` or `call = \"{}\"`",
                call::PRODUCTS_COUNT.id,
                call::PRODUCTS.id
            )));
        }
        return Ok(def.id);
    }
    let id = def.id;
    let update_only = [
        (m.product_id.is_some(), field::PRODUCT_ID),
        (m.variant_id.is_some(), field::VARIANT_ID),
        (m.facility_code.is_some(), field::FACILITY_CODE),
        (m.inventory.is_some(), field::INVENTORY),
        (m.batch_size.is_some(), "batchSize"),
        (m.request.is_some(), "request"),
        (e.fail.is_some(), "fail"),
        (e.break_contract.is_some(), "breakContract"),
    ];
    if let Some((_, what)) = update_only.iter().find(|(set, _)| *set) {
        return Err(err(format!(
            "`{what}` is the update's (`{update}`); a rule of `{id}` takes seller, elapsed, daily, probability{} and answer effects",
            if def.listing().is_some() {
                ", page"
            } else {
                ""
            }
        )));
    }
    if m.page.is_some() && def.listing().is_none() {
        return Err(err(format!(
            "`page` is the listing's (`{}`), not `{id}`'s",
            call::PRODUCTS.id
        )));
    }
    if let Some(b) = e.break_listing
        && b.is_count() != def.count().is_some()
    {
        let owner = if b.is_count() {
            call::PRODUCTS_COUNT.id
        } else {
            call::PRODUCTS.id
        };
        return Err(err(format!(
            "breakListing `{}` breaks `{owner}`'s answer, not `{id}`'s",
            super::effects::kebab(&b)
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::effects::{Delay, DelayDist};

    #[test]
    fn effects_compile_to_acts_in_order() {
        let r = CRule::compile(
            0,
            &Rule {
                effect: Effect {
                    status: Some(429),
                    retry_after: Some(3),
                    delay: Some(Delay::Fixed("10ms".into())),
                    ..Effect::default()
                },
                ..Rule::default()
            },
            "t",
        )
        .unwrap();
        assert_eq!(
            r.acts,
            vec![
                Act::Status(429, None),
                Act::RetryAfter(3),
                Act::Delay(DelayDist::Fixed(Duration::from_millis(10)))
            ]
        );
    }
}
