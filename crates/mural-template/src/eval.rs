//! Expansion: combinatorial (every prompt, in dynamicprompts' order) and
//! random/cyclical draws.
//!
//! Combinatorial results are computed as lists capped at the number still
//! needed: a sequence evaluates its tokens right to left, and an earlier
//! token needs only `ceil(needed / len(later product))` values, so asking
//! for the first N prompts of a huge template costs about N.

use crate::parse::{parse, Method, Node, Opt};
use crate::wildcards::Wildcards;
use crate::{Expansion, TemplateError};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Nested wildcard and variable expansion stops here.
const MAX_NESTING: usize = 64;

/// The work one expansion may do before it gives up as too complex, in
/// every mode: a unit is one node visited, one combination walked through
/// (duplicates included), or 64 bytes of text made. A random draw of a
/// chain of variables that each use the last several times would
/// otherwise visit (and copy) exponentially many nodes for one prompt.
const WORK_BUDGET: usize = 1_000_000;

#[derive(Clone, Default)]
struct Sample {
    text: String,
    neg: String,
}

fn push_neg(into: &mut String, neg: &str) {
    if neg.is_empty() {
        return;
    }
    if !into.is_empty() {
        into.push_str(", ");
    }
    into.push_str(neg);
}

/// dynamicprompts' `SamplingResult.joined`: one part is itself; more are
/// joined, then one leading and one trailing separator are removed.
fn joined(parts: &[&Sample], sep: &str) -> Sample {
    if parts.len() == 1 {
        return parts[0].clone();
    }
    let mut text = String::new();
    let mut neg = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            text.push_str(sep);
        }
        text.push_str(&p.text);
        push_neg(&mut neg, &p.neg);
    }
    if !sep.is_empty() {
        if text.starts_with(sep) {
            text.drain(..sep.len());
        }
        if text.ends_with(sep) {
            text.truncate(text.len() - sep.len());
        }
    }
    Sample { text, neg }
}

#[derive(Clone)]
struct Env {
    vars: Rc<HashMap<String, Rc<Node>>>,
    sampling: Rc<Vec<String>>,
    mode: Method,
}

impl Env {
    fn with_mode(&self, mode: Method) -> Env {
        Env {
            mode,
            ..self.clone()
        }
    }
}

/// SplitMix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
        if total <= 0.0 || !total.is_finite() {
            return self.below(weights.len());
        }
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if *w > 0.0 {
                if x < *w {
                    return i;
                }
                x -= w;
            }
        }
        weights.len() - 1
    }
}

pub struct Engine<'w> {
    wildcards: &'w Wildcards,
    parsed: HashMap<String, Rc<Node>>,
    rng: Rng,
    cycles: HashMap<usize, usize>,
    wild_stack: Vec<String>,
    work: usize,
}

type R<T> = Result<T, TemplateError>;

impl<'w> Engine<'w> {
    pub fn new(wildcards: &'w Wildcards, seed: u64) -> Engine<'w> {
        Engine {
            wildcards,
            parsed: HashMap::new(),
            rng: Rng(seed),
            cycles: HashMap::new(),
            wild_stack: Vec::new(),
            work: 0,
        }
    }

    fn tick(&mut self) -> R<()> {
        self.charge(1)
    }

    fn charge(&mut self, units: usize) -> R<()> {
        self.work = self.work.saturating_add(units);
        if self.work > WORK_BUDGET {
            return Err(TemplateError::TooComplex);
        }
        Ok(())
    }

    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng(seed);
    }

    fn root_env(mode: Method) -> Env {
        Env {
            vars: Rc::new(HashMap::new()),
            sampling: Rc::new(Vec::new()),
            mode,
        }
    }

    fn out(s: Sample) -> Expansion {
        Expansion {
            prompt: s.text,
            negative_prompt: s.neg,
        }
    }

    pub fn all_root(&mut self, root: &Node, limit: usize) -> R<Vec<Expansion>> {
        let env = Self::root_env(Method::Combinatorial);
        Ok(self
            .all(root, &env, limit)?
            .into_iter()
            .map(Self::out)
            .collect())
    }

    /// One random prompt; each has the whole work budget.
    pub fn draw_root(&mut self, root: &Node) -> R<Expansion> {
        self.work = 0;
        let env = Self::root_env(Method::Random);
        Ok(Self::out(self.draw(root, &env)?.unwrap_or_default()))
    }

    pub fn count_root(&mut self, root: &Node) -> R<u128> {
        let env = Self::root_env(Method::Combinatorial);
        self.count(root, &env)
    }

    fn parsed(&mut self, text: &str) -> R<Rc<Node>> {
        if let Some(n) = self.parsed.get(text) {
            return Ok(n.clone());
        }
        let n = Rc::new(parse(text)?);
        self.parsed.insert(text.to_string(), n.clone());
        Ok(n)
    }

    /// Variable assignments of a sequence: the other tokens, and the
    /// context they run in. Immediate values are evaluated in the outer
    /// context, as dynamicprompts does.
    fn assignments<'n>(&mut self, tokens: &'n [Node], env: &Env) -> R<(Vec<&'n Node>, Env)> {
        if !tokens.iter().any(|t| matches!(t, Node::Assign { .. })) {
            return Ok((tokens.iter().collect(), env.clone()));
        }
        let mut new: Vec<(String, Rc<Node>)> = Vec::new();
        let mut rest = Vec::new();
        for t in tokens {
            let Node::Assign {
                name,
                value,
                immediate,
                overwrite,
            } = t
            else {
                rest.push(t);
                continue;
            };
            let v = if let (false, Some(old)) = (*overwrite, env.vars.get(name)) {
                old.clone()
            } else if *immediate {
                match &**value {
                    Node::Lit(_) => Rc::new((**value).clone()),
                    v => {
                        let s = if env.mode.is_nonfinite() {
                            self.draw(v, env)?.unwrap_or_default()
                        } else {
                            self.all(v, env, 1)?.into_iter().next().unwrap_or_default()
                        };
                        Rc::new(Node::Lit(s.text))
                    }
                }
            } else {
                Rc::new((**value).clone())
            };
            new.push((name.clone(), v));
        }
        let mut vars = (*env.vars).clone();
        vars.extend(new);
        Ok((
            rest,
            Env {
                vars: Rc::new(vars),
                ..env.clone()
            },
        ))
    }

    fn effective(node: &Node, env: &Env) -> Method {
        match node.method() {
            // a combinatorial node inside a random or cyclical one cannot be
            // enumerated: it follows its parent
            Some(Method::Combinatorial) if env.mode.is_nonfinite() => env.mode,
            Some(m) => m,
            None => env.mode,
        }
    }

    // ------------------------------------------------------------ combinatorial

    fn all(&mut self, node: &Node, env: &Env, limit: usize) -> R<Vec<Sample>> {
        self.tick()?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let eff = Self::effective(node, env);
        if eff.is_nonfinite() {
            // one draw stands for a random or cyclical node
            let env = env.with_mode(eff);
            return Ok(self.draw(node, &env)?.into_iter().collect());
        }
        match node {
            Node::Lit(t) => Ok(vec![Sample {
                text: t.clone(),
                neg: String::new(),
            }]),
            Node::Seq(tokens) => self.all_seq(tokens, env, limit),
            Node::Variant {
                opts,
                min,
                max,
                sep,
                ..
            } => {
                if let Some((wopts, wmin, wmax)) = self.wildcard_variant(opts, *min, *max, env)? {
                    let refs: Vec<&Node> = wopts.iter().map(|n| &**n).collect();
                    return self.all_variant(&refs, wmin, wmax, sep, env, limit);
                }
                let refs: Vec<&Node> = opts.iter().map(|o| &o.node).collect();
                self.all_variant(&refs, *min, *max, sep, env, limit)
            }
            Node::Wildcard { path, vars, .. } => {
                let (name, values, env2) = self.wildcard_values(path, vars, env)?;
                self.wild_stack.push(name);
                let mut out = Vec::new();
                for (text, weight) in values {
                    let parsed = self.parsed(&text)?;
                    for _ in 0..(weight as usize) {
                        let more = self.all(&parsed, &env2, limit - out.len())?;
                        out.extend(more);
                        if out.len() >= limit {
                            break;
                        }
                    }
                    if out.len() >= limit {
                        break;
                    }
                }
                self.wild_stack.pop();
                Ok(out)
            }
            Node::Assign { .. } => Ok(vec![Sample::default()]),
            Node::Access { name, default } => {
                let (value, env2) = self.variable(name, default.as_deref(), env)?;
                self.all(&value, &env2, limit)
            }
            Node::Wrap { wrapper, inner } => {
                let inner = self.all(inner, env, limit)?;
                if inner.is_empty() {
                    return Ok(Vec::new());
                }
                let wrappers = self.all(wrapper, env, limit.div_ceil(inner.len()))?;
                let mut out = Vec::new();
                'w: for w in &wrappers {
                    for i in &inner {
                        out.push(wrap(w, i));
                        if out.len() >= limit {
                            break 'w;
                        }
                    }
                }
                Ok(out)
            }
            Node::Tied { pos, neg } => {
                let negs = self.all(neg, env, limit)?;
                if negs.is_empty() {
                    return Ok(Vec::new());
                }
                let poss = self.all(pos, env, limit.div_ceil(negs.len()))?;
                let mut out = Vec::new();
                'p: for p in &poss {
                    for n in &negs {
                        let mut s = p.clone();
                        push_neg(&mut s.neg, &n.text);
                        push_neg(&mut s.neg, &n.neg);
                        out.push(s);
                        if out.len() >= limit {
                            break 'p;
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    fn all_seq(&mut self, tokens: &[Node], env: &Env, limit: usize) -> R<Vec<Sample>> {
        let (tokens, env) = self.assignments(tokens, env)?;
        let n = tokens.len();
        if n == 0 {
            return Ok(vec![Sample::default()]);
        }
        // right to left: earlier tokens need fewer values
        let mut lists: Vec<Option<Vec<Sample>>> = vec![None; n];
        let mut need = limit;
        for i in (0..n).rev() {
            let t = tokens[i];
            if Self::effective(t, &env).is_nonfinite() {
                continue;
            }
            let l = self.all(t, &env, need)?;
            if l.is_empty() {
                return Ok(Vec::new());
            }
            need = need.div_ceil(l.len()).max(1);
            lists[i] = Some(l);
        }
        let mut idx = vec![0usize; n];
        let mut out = Vec::new();
        loop {
            self.tick()?;
            let mut text = String::new();
            let mut neg = String::new();
            for i in 0..n {
                match &lists[i] {
                    Some(l) => {
                        let s = &l[idx[i]];
                        text.push_str(&s.text);
                        push_neg(&mut neg, &s.neg);
                    }
                    None => {
                        let e = env.with_mode(Self::effective(tokens[i], &env));
                        if let Some(s) = self.draw(tokens[i], &e)? {
                            text.push_str(&s.text);
                            push_neg(&mut neg, &s.neg);
                        }
                    }
                }
            }
            self.work += text.len() / 64;
            out.push(Sample { text, neg });
            if out.len() >= limit || !advance(&mut idx, &lists) {
                return Ok(out);
            }
        }
    }

    /// A variant whose only option is a wildcard picks among the
    /// wildcard's values.
    #[allow(clippy::type_complexity)]
    fn wildcard_variant(
        &mut self,
        opts: &[Opt],
        min: usize,
        max: usize,
        env: &Env,
    ) -> R<Option<(Vec<Rc<Node>>, usize, usize)>> {
        let [Opt {
            node: Node::Wildcard { path, vars, .. },
            ..
        }] = opts
        else {
            return Ok(None);
        };
        let _ = vars; // dynamicprompts ignores a parametrized wildcard's variables here
        let name = self.path_text(path, env)?;
        let values = self.wildcards.values(&name);
        if values.is_empty() {
            return Err(self.unknown_wildcard(&name));
        }
        let mut nodes = Vec::new();
        for item in &values {
            for _ in 0..(item.weight as usize) {
                nodes.push(self.parsed(&item.text)?);
            }
        }
        let n = values.len();
        Ok(Some((nodes, min.min(n), max.min(n))))
    }

    fn all_variant(
        &mut self,
        opts: &[&Node],
        min: usize,
        max: usize,
        sep: &str,
        env: &Env,
        limit: usize,
    ) -> R<Vec<Sample>> {
        let n = opts.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let (min, max) = (min.min(n), max.min(n));
        let finite: Vec<bool> = opts
            .iter()
            .map(|o| !Self::effective(o, env).is_nonfinite())
            .collect();
        let mut lists: Vec<Option<Vec<Sample>>> = vec![None; n];
        let mut out = Vec::new();
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        for k in min..=max {
            let mut perms = Perms::new(opts, k);
            while let Some(combo) = perms.next() {
                self.tick()?;
                if perms.steps > PICK_BUDGET {
                    return Err(TemplateError::TooComplex);
                }
                // the lists of this combination's options
                for &i in &combo {
                    if finite[i] && lists[i].is_none() {
                        // dropped duplicates may need a few more values
                        let cap = limit.saturating_add(64);
                        lists[i] = Some(self.all(opts[i], env, cap)?);
                    }
                }
                let sub: Vec<Option<&Vec<Sample>>> =
                    combo.iter().map(|&i| lists[i].as_ref()).collect();
                if sub.iter().any(|l| l.is_some_and(|l| l.is_empty())) {
                    continue;
                }
                let mut idx = vec![0usize; combo.len()];
                loop {
                    self.tick()?;
                    let mut parts: Vec<Sample> = Vec::with_capacity(combo.len());
                    for (j, &i) in combo.iter().enumerate() {
                        match sub[j] {
                            Some(l) => parts.push(l[idx[j]].clone()),
                            None => {
                                let e = env.with_mode(Self::effective(opts[i], env));
                                parts.push(self.draw(opts[i], &e)?.unwrap_or_default());
                            }
                        }
                    }
                    // long texts cost more
                    self.work += parts.iter().map(|p| p.text.len()).sum::<usize>() / 64;
                    // drop repeated texts; keep the pick only if k remain
                    let mut uniq: Vec<&Sample> = Vec::with_capacity(parts.len());
                    for p in &parts {
                        if !uniq.iter().any(|u| u.text == p.text) {
                            uniq.push(p);
                        }
                    }
                    if uniq.len() == k {
                        let key: Vec<String> = uniq.iter().map(|u| u.text.clone()).collect();
                        if seen.insert(key) {
                            out.push(joined(&uniq, sep));
                            if out.len() >= limit {
                                return Ok(out);
                            }
                        }
                    }
                    if !advance_refs(&mut idx, &sub) {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// The wildcard path's text, its values, and the context (with the
    /// wildcard's parameters) its values run in.
    #[allow(clippy::type_complexity)]
    fn wildcard_values(
        &mut self,
        path: &Node,
        vars: &[(String, Node)],
        env: &Env,
    ) -> R<(String, Vec<(String, f64)>, Env)> {
        let name = self.path_text(path, env)?;
        if self.wild_stack.iter().any(|w| w == &name) {
            let mut chain = self.wild_stack.clone();
            chain.push(name);
            return Err(TemplateError::WildcardCycle { chain });
        }
        if self.wild_stack.len() >= MAX_NESTING {
            return Err(TemplateError::TooDeep(MAX_NESTING));
        }
        let values = self.wildcards.values(&name);
        if values.is_empty() {
            return Err(self.unknown_wildcard(&name));
        }
        let env2 = if vars.is_empty() {
            env.clone()
        } else {
            let mut m = (*env.vars).clone();
            for (k, v) in vars {
                m.insert(k.clone(), Rc::new(v.clone()));
            }
            Env {
                vars: Rc::new(m),
                ..env.clone()
            }
        };
        Ok((
            name,
            values.into_iter().map(|i| (i.text, i.weight)).collect(),
            env2,
        ))
    }

    fn unknown_wildcard(&self, name: &str) -> TemplateError {
        let mut names: Vec<(usize, &str)> = self
            .wildcards
            .names()
            .map(|n| (edit_distance(name, n), n))
            .collect();
        names.sort();
        TemplateError::UnknownWildcard {
            name: name.to_string(),
            nearest: names
                .into_iter()
                .take(3)
                .map(|(_, n)| n.to_string())
                .collect(),
        }
    }

    fn path_text(&mut self, path: &Node, env: &Env) -> R<String> {
        if let Node::Lit(t) = path {
            return Ok(t.clone());
        }
        let e = env.with_mode(Method::Combinatorial);
        Ok(self
            .all(path, &e, 1)?
            .into_iter()
            .next()
            .unwrap_or_default()
            .text)
    }

    fn variable(&mut self, name: &str, default: Option<&Node>, env: &Env) -> R<(Rc<Node>, Env)> {
        let value = match env.vars.get(name) {
            Some(v) => v.clone(),
            None => match default {
                Some(d) => Rc::new(d.clone()),
                None => {
                    return Err(TemplateError::UnknownVariable {
                        name: name.to_string(),
                    })
                }
            },
        };
        if env.sampling.iter().any(|s| s == name) {
            return Err(TemplateError::VariableCycle {
                name: name.to_string(),
            });
        }
        if env.sampling.len() >= MAX_NESTING {
            return Err(TemplateError::TooDeep(MAX_NESTING));
        }
        let mut sampling = (*env.sampling).clone();
        sampling.push(name.to_string());
        Ok((
            value,
            Env {
                sampling: Rc::new(sampling),
                ..env.clone()
            },
        ))
    }

    // ------------------------------------------------------------ random / cyclical

    /// One draw of `node`, charged to the work budget: the visit, and the
    /// text it makes.
    fn draw(&mut self, node: &Node, env: &Env) -> R<Option<Sample>> {
        self.tick()?;
        let s = self.draw_node(node, env)?;
        if let Some(s) = &s {
            self.charge((s.text.len() + s.neg.len()) / 64)?;
        }
        Ok(s)
    }

    fn draw_node(&mut self, node: &Node, env: &Env) -> R<Option<Sample>> {
        let mode = Self::effective(node, env);
        let env = &env.with_mode(if mode.is_nonfinite() { mode } else { env.mode });
        match node {
            Node::Lit(t) => Ok(Some(Sample {
                text: t.clone(),
                neg: String::new(),
            })),
            Node::Seq(tokens) => {
                let (tokens, env) = self.assignments(tokens, env)?;
                let mut s = Sample::default();
                for t in tokens {
                    if let Some(p) = self.draw(t, &env)? {
                        s.text.push_str(&p.text);
                        push_neg(&mut s.neg, &p.neg);
                    }
                }
                Ok(Some(s))
            }
            Node::Variant {
                opts,
                min,
                max,
                sep,
                ..
            } => {
                if let Some((wopts, wmin, wmax)) = self.wildcard_variant(opts, *min, *max, env)? {
                    let weights = vec![1.0; wopts.len()];
                    let refs: Vec<&Node> = wopts.iter().map(|n| &**n).collect();
                    return self.draw_variant(node, &refs, &weights, wmin, wmax, sep, env);
                }
                let refs: Vec<&Node> = opts.iter().map(|o| &o.node).collect();
                let weights: Vec<f64> = opts.iter().map(|o| o.weight).collect();
                self.draw_variant(node, &refs, &weights, *min, *max, sep, env)
            }
            Node::Wildcard { path, vars, .. } => {
                let (name, values, env2) = self.wildcard_values(path, vars, env)?;
                let pick = if env.mode == Method::Cyclical {
                    let expanded: Vec<usize> = values
                        .iter()
                        .enumerate()
                        .flat_map(|(i, (_, w))| std::iter::repeat_n(i, (*w as usize).max(1)))
                        .collect();
                    let c = self.cycles.entry(node as *const Node as usize).or_insert(0);
                    let i = expanded[*c % expanded.len()];
                    *c += 1;
                    i
                } else {
                    let weights: Vec<f64> = values.iter().map(|(_, w)| *w).collect();
                    self.rng.weighted(&weights)
                };
                let parsed = self.parsed(&values[pick].0)?;
                self.wild_stack.push(name);
                let r = self.draw(&parsed, &env2);
                self.wild_stack.pop();
                r
            }
            Node::Assign { .. } => Ok(Some(Sample::default())),
            Node::Access { name, default } => {
                let (value, env2) = self.variable(name, default.as_deref(), env)?;
                self.draw(&value, &env2)
            }
            Node::Wrap { wrapper, inner } => {
                let w = self.draw(wrapper, env)?.unwrap_or_default();
                let i = self.draw(inner, env)?.unwrap_or_default();
                Ok(Some(wrap(&w, &i)))
            }
            Node::Tied { pos, neg } => {
                let mut p = self.draw(pos, env)?.unwrap_or_default();
                if let Some(n) = self.draw(neg, env)? {
                    push_neg(&mut p.neg, &n.text);
                    push_neg(&mut p.neg, &n.neg);
                }
                Ok(Some(p))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_variant(
        &mut self,
        node: &Node,
        opts: &[&Node],
        weights: &[f64],
        min: usize,
        max: usize,
        sep: &str,
        env: &Env,
    ) -> R<Option<Sample>> {
        let n = opts.len();
        if n == 0 {
            return Ok(None);
        }
        if n == 1 {
            return self.draw(opts[0], env);
        }
        let (min, max) = (min.min(n), max.min(n));
        let chosen: Vec<usize> = if env.mode == Method::Cyclical {
            // the cycle runs over the first 10,000 picks
            let mut combos = Vec::new();
            'k: for k in min..=max {
                let mut perms = Perms::new(opts, k);
                while let Some(c) = perms.next() {
                    combos.push(c);
                    if combos.len() >= 10_000 || perms.steps > PICK_BUDGET {
                        break 'k;
                    }
                }
            }
            if combos.is_empty() {
                return Ok(Some(Sample::default()));
            }
            let c = self.cycles.entry(node as *const Node as usize).or_insert(0);
            let pick = combos[*c % combos.len()].clone();
            *c += 1;
            pick
        } else {
            let k = min + self.rng.below(max - min + 1);
            let mut left: Vec<usize> = (0..n).collect();
            let mut w: Vec<f64> = weights.to_vec();
            let mut chosen = Vec::with_capacity(k);
            for _ in 0..k {
                let j = self.rng.weighted(&w);
                chosen.push(left.remove(j));
                w.remove(j);
            }
            chosen
        };
        let mut parts = Vec::with_capacity(chosen.len());
        for i in chosen {
            parts.push(self.draw(opts[i], env)?.unwrap_or_default());
        }
        let refs: Vec<&Sample> = parts.iter().collect();
        Ok(Some(if refs.is_empty() {
            Sample::default()
        } else {
            joined(&refs, sep)
        }))
    }

    // ------------------------------------------------------------ counting

    fn count(&mut self, node: &Node, env: &Env) -> R<u128> {
        self.tick()?;
        if Self::effective(node, env).is_nonfinite() {
            return Ok(1);
        }
        Ok(match node {
            Node::Lit(_) | Node::Assign { .. } => 1,
            Node::Seq(tokens) => {
                let (tokens, env) = self.assignments(tokens, env)?;
                let mut c: u128 = 1;
                for t in tokens {
                    c = c.saturating_mul(self.count(t, &env)?);
                }
                c
            }
            Node::Variant { opts, min, max, .. } => {
                let (counts, min, max) = match self.wildcard_variant(opts, *min, *max, env)? {
                    Some((w, a, b)) => {
                        let mut counts = Vec::new();
                        for n in &w {
                            counts.push(self.count(n, env)?);
                        }
                        (counts, a, b)
                    }
                    None => {
                        let mut counts = Vec::new();
                        for o in opts {
                            counts.push(self.count(&o.node, env)?);
                        }
                        (counts, *min, *max)
                    }
                };
                ordered_picks(&counts, min, max)
            }
            Node::Wildcard { path, vars, .. } => {
                let (name, values, env2) = self.wildcard_values(path, vars, env)?;
                self.wild_stack.push(name);
                let mut c: u128 = 0;
                for (text, weight) in values {
                    let parsed = self.parsed(&text)?;
                    let k = self.count(&parsed, &env2)?;
                    c = c.saturating_add(k.saturating_mul(weight as u128));
                }
                self.wild_stack.pop();
                c
            }
            Node::Access { name, default } => {
                let (value, env2) = self.variable(name, default.as_deref(), env)?;
                self.count(&value, &env2)?
            }
            Node::Wrap { wrapper, inner } => self
                .count(wrapper, env)?
                .saturating_mul(self.count(inner, env)?),
            Node::Tied { pos, neg } => self.count(pos, env)?.saturating_mul(self.count(neg, env)?),
        })
    }
}

/// Sum over k in min..=max of the ordered picks of k distinct options,
/// each contributing its own count: k! times the k-th elementary symmetric
/// polynomial of the counts.
fn ordered_picks(counts: &[u128], min: usize, max: usize) -> u128 {
    let n = counts.len();
    let (min, max) = (min.min(n), max.min(n));
    let mut e = vec![0u128; n + 1];
    e[0] = 1;
    for &c in counts {
        for k in (1..=n).rev() {
            e[k] = e[k].saturating_add(e[k - 1].saturating_mul(c));
        }
    }
    let mut total: u128 = 0;
    let mut fact: u128 = 1;
    for (k, ek) in e.iter().enumerate().take(max + 1) {
        if k > 0 {
            fact = fact.saturating_mul(k as u128);
        }
        if k >= min {
            total = total.saturating_add(ek.saturating_mul(fact));
        }
    }
    total
}

/// The most partial picks one variant may explore.
const PICK_BUDGET: usize = 2_000_000;

/// dynamicprompts' `get_value_combinations`, lazily: ordered picks of k
/// options, where picking an option removes every option equal to it.
/// Branches that repeat an equal option (which can only repeat earlier
/// picks) and branches too short to reach k are skipped.
struct Perms<'a> {
    opts: &'a [&'a Node],
    k: usize,
    stack: Vec<(Vec<usize>, usize)>,
    cur: Vec<usize>,
    steps: usize,
    zero_done: bool,
}

impl<'a> Perms<'a> {
    fn new(opts: &'a [&'a Node], k: usize) -> Perms<'a> {
        let all: Vec<usize> = (0..opts.len()).collect();
        let first = distinct(opts, &all);
        let feasible = first.len() >= k;
        Perms {
            opts,
            k,
            stack: if feasible {
                vec![(first, 0)]
            } else {
                Vec::new()
            },
            cur: Vec::new(),
            steps: 0,
            zero_done: false,
        }
    }

    fn next(&mut self) -> Option<Vec<usize>> {
        if self.steps > PICK_BUDGET {
            return None;
        }
        if self.k == 0 {
            if self.zero_done {
                return None;
            }
            self.zero_done = true;
            return Some(Vec::new());
        }
        loop {
            let depth = self.stack.len();
            let (left, pos) = self.stack.last_mut()?;
            if *pos >= left.len() {
                self.stack.pop();
                if depth > 1 {
                    self.cur.pop();
                }
                continue;
            }
            let i = left[*pos];
            *pos += 1;
            self.steps += 1;
            if self.cur.len() + 1 == self.k {
                let mut c = self.cur.clone();
                c.push(i);
                return Some(c);
            }
            // options equal to another only repeat its branch: keep one
            let rest: Vec<usize> = left
                .iter()
                .copied()
                .filter(|&j| self.opts[j] != self.opts[i])
                .collect();
            let rest = distinct(self.opts, &rest);
            if rest.len() < self.k - self.cur.len() - 1 {
                continue;
            }
            self.cur.push(i);
            self.stack.push((rest, 0));
        }
    }
}

/// The indices of `left` without options equal to an earlier one.
fn distinct(opts: &[&Node], left: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(left.len());
    for &i in left {
        if !out.iter().any(|&j| opts[j] == opts[i]) {
            out.push(i);
        }
    }
    out
}

/// Steps an odometer over finite lists (rightmost fastest); false at the end.
fn advance(idx: &mut [usize], lists: &[Option<Vec<Sample>>]) -> bool {
    for i in (0..idx.len()).rev() {
        if let Some(l) = &lists[i] {
            idx[i] += 1;
            if idx[i] < l.len() {
                return true;
            }
            idx[i] = 0;
        }
    }
    false
}

fn advance_refs(idx: &mut [usize], lists: &[Option<&Vec<Sample>>]) -> bool {
    for i in (0..idx.len()).rev() {
        if let Some(l) = lists[i] {
            idx[i] += 1;
            if idx[i] < l.len() {
                return true;
            }
            idx[i] = 0;
        }
    }
    false
}

/// The wrap marker: a run of ellipsis characters, or three or more dots.
fn wrap(w: &Sample, inner: &Sample) -> Sample {
    const MARKS: &[char] = &[
        '\u{1801}', '\u{2026}', '\u{22ee}', '\u{22ef}', '\u{22f0}', '\u{22f1}', '\u{fe19}',
    ];
    let t = &w.text;
    let mut found = None;
    let chars: Vec<(usize, char)> = t.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if MARKS.contains(&c) {
            let mut j = i;
            while j < chars.len() && MARKS.contains(&chars[j].1) {
                j += 1;
            }
            found = Some((at, chars.get(j).map_or(t.len(), |x| x.0)));
            break;
        }
        if c == '.' {
            let mut j = i;
            while j < chars.len() && chars[j].1 == '.' {
                j += 1;
            }
            if j - i >= 3 {
                found = Some((at, chars.get(j).map_or(t.len(), |x| x.0)));
                break;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    let (prefix, suffix) = match found {
        Some((a, b)) => (&t[..a], &t[b..]),
        None => (t.as_str(), ""),
    };
    let mut neg = w.neg.clone();
    push_neg(&mut neg, &inner.neg);
    Sample {
        text: format!("{prefix}{}{suffix}", inner.text),
        neg,
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
