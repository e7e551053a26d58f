//! YAML as az prints it: PyYAML's `safe_dump(default_flow_style=False, allow_unicode=True)`.
//!
//! The emitter is libyaml's (through libyaml-safer), which is the C original of PyYAML's emitter:
//! same scalar analysis, same indentless block sequences, same 80-column folding. What no YAML
//! crate reproduces is PyYAML's YAML 1.1 *resolver*: a string that would read back as another
//! type (`yes`, `1:20`, `2024-01-01T00:00:00+00:00`, `~`) must be quoted. That check is here,
//! and so are PyYAML's anchors: a list or dict met twice (`[roles, roles]`) is written once with
//! `&id001` and then as `*id001`.

use crate::output::pyvalue::{PyValue, float_repr};
use libyaml_safer::{Emitter, Encoding, Event, MappingStyle, ScalarStyle, SequenceStyle};
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

pub fn render(data: &PyValue) -> Result<String, String> {
    let mut out: Vec<u8> = Vec::new();
    {
        let mut emitter = Emitter::new();
        emitter.set_output_string(&mut out);
        emitter.set_unicode(true);
        emitter.set_width(80);
        emitter.set_indent(2);
        let mut emit = |event: Event| emitter.emit(event).map_err(|e| format!("YAML output: {e}"));
        emit(Event::stream_start(Encoding::Utf8))?;
        emit(Event::document_start(None, &[], true))?;
        let mut anchors = Anchors::of(data);
        emit_value(data, &mut anchors, &mut emit)?;
        emit(Event::document_end(true))?;
        emit(Event::stream_end())?;
    }
    let mut text = String::from_utf8(out).map_err(|e| format!("YAML output: {e}"))?;
    // PyYAML (pure Python, which az uses) marks a plain scalar document as open-ended with
    // `...`; libyaml 0.2.5 stopped doing so.
    let plain_root = !matches!(data, PyValue::List(_) | PyValue::Dict(_))
        && !text.starts_with(['\'', '"', '|', '>']);
    if plain_root {
        text.push_str("...\n");
    }
    Ok(text)
}

/// The anchors PyYAML gives a document: `id001`, `id002`… to each list or dict reached a second
/// time, numbered in the order of those second meetings (keys sorted). knack dumps a result that
/// holds an `OrderedDict` through a JSON round trip, which makes every object new: no anchors then.
#[derive(Default)]
struct Anchors {
    names: HashMap<usize, String>,
    emitted: HashSet<usize>,
}

impl Anchors {
    fn of(data: &PyValue) -> Anchors {
        let mut anchors = Anchors::default();
        if !holds_ordered_dict(data) {
            let mut seen = HashSet::new();
            anchors.find(data, &mut seen);
        }
        anchors
    }

    fn find(&mut self, value: &PyValue, seen: &mut HashSet<usize>) {
        let Some(id) = identity(value) else {
            return;
        };
        if !seen.insert(id) {
            if !self.names.contains_key(&id) {
                let name = format!("id{:03}", self.names.len() + 1);
                self.names.insert(id, name);
            }
            return;
        }
        match value {
            PyValue::List(items) => items.iter().for_each(|i| self.find(i, seen)),
            PyValue::Dict(d) => d.sorted().into_iter().for_each(|(_, v)| self.find(v, seen)),
            _ => {}
        }
    }

    /// The anchor to write with this node, or the alias to write instead of it.
    fn meet(&mut self, value: &PyValue) -> (Option<String>, Option<String>) {
        let Some(id) = identity(value) else {
            return (None, None);
        };
        let Some(name) = self.names.get(&id) else {
            return (None, None);
        };
        if self.emitted.insert(id) {
            (Some(name.clone()), None)
        } else {
            (None, Some(name.clone()))
        }
    }
}

/// Which Python object a list or dict is (scalars are never aliased by PyYAML).
fn identity(value: &PyValue) -> Option<usize> {
    match value {
        PyValue::List(l) => Some(std::sync::Arc::as_ptr(l) as usize),
        PyValue::Dict(d) => Some(std::sync::Arc::as_ptr(d) as usize),
        _ => None,
    }
}

fn holds_ordered_dict(value: &PyValue) -> bool {
    match value {
        PyValue::List(items) => items.iter().any(holds_ordered_dict),
        PyValue::Dict(d) => d.ordered || d.entries.values().any(holds_ordered_dict),
        _ => false,
    }
}

fn emit_value(
    value: &PyValue,
    anchors: &mut Anchors,
    emit: &mut impl FnMut(Event) -> Result<(), String>,
) -> Result<(), String> {
    let (anchor, alias) = anchors.meet(value);
    if let Some(alias) = alias {
        return emit(Event::alias(&alias));
    }
    match value {
        PyValue::Null => emit(plain("null")),
        PyValue::Bool(b) => emit(plain(if *b { "true" } else { "false" })),
        PyValue::Int(i) => emit(plain(&i.to_string())),
        PyValue::Float(f) => emit(plain(&pyyaml_float(*f))),
        PyValue::Str(s) => emit_str(s, emit),
        PyValue::List(items) => {
            emit(Event::sequence_start(
                anchor.as_deref(),
                None,
                true,
                SequenceStyle::Block,
            ))?;
            for item in items.iter() {
                emit_value(item, anchors, emit)?;
            }
            emit(Event::sequence_end())
        }
        PyValue::Dict(d) => {
            // PyYAML's sort_keys=True (an OrderedDict goes through json and back in knack, so
            // its keys are sorted too).
            emit(Event::mapping_start(
                anchor.as_deref(),
                None,
                true,
                MappingStyle::Block,
            ))?;
            for (key, item) in d.sorted() {
                emit_str(key, emit)?;
                emit_value(item, anchors, emit)?;
            }
            emit(Event::mapping_end())
        }
    }
}

fn emit_str(s: &str, emit: &mut impl FnMut(Event) -> Result<(), String>) -> Result<(), String> {
    // PyYAML: plain only if the plain text resolves back to a string.
    let plain_implicit = !resolves_to_non_string(s);
    emit(Event::scalar(
        None,
        None,
        s,
        plain_implicit,
        true,
        ScalarStyle::Any,
    ))
}

/// YAML as PyYAML writes it, keys coloured when `color` (`yamlc`): the one YAML branch of every
/// printer.
pub fn render_maybe_colored(data: &PyValue, color: bool) -> Result<String, String> {
    let text = render(data)?;
    Ok(if color { colorize(&text) } else { text })
}

/// `yamlc`: keys coloured, the text otherwise unchanged.
pub fn colorize(text: &str) -> String {
    const KEY: &str = "\x1b[94m";
    const RESET: &str = "\x1b[0m";
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body_start = line.len() - line.trim_start_matches([' ', '-']).len();
        let (lead, rest) = line.split_at(body_start);
        match rest
            .find(':')
            .filter(|&i| !rest.starts_with(['\'', '"']) && rest[i + 1..].starts_with([' ', '\n']))
        {
            Some(i) => {
                out.push_str(lead);
                out.push_str(KEY);
                out.push_str(&rest[..i]);
                out.push_str(RESET);
                out.push_str(&rest[i..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

fn plain(text: &str) -> Event {
    Event::scalar(None, None, text, true, false, ScalarStyle::Plain)
}

/// PyYAML's `represent_float`: `repr()` lower-cased, `.0` added before an exponent so it reads
/// back as a float (`1.0e+16`), `.nan`/`.inf` for the special values.
fn pyyaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let text = float_repr(f).to_ascii_lowercase();
    if !text.contains('.') && text.contains('e') {
        return text.replacen('e', ".0e", 1);
    }
    text
}

/// PyYAML's implicit resolvers (YAML 1.1) for bool, int, float, null, timestamp, merge, value.
static NON_STRING: LazyLock<Regex> = LazyLock::new(|| {
    let patterns = [
        // bool
        r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        // float
        r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        // int
        r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        // merge, null, value
        r"<<|~|null|Null|NULL|=",
        // timestamp
        r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
    ];
    // Constant patterns, compiled in every test run.
    Regex::new(&format!("^(?:{})$", patterns.join("|"))).expect("the resolver patterns compile")
});

/// Whether PyYAML would read this plain text back as something other than a string.
/// The empty string resolves to null, so it is quoted (`''`) as well.
pub fn resolves_to_non_string(text: &str) -> bool {
    text.is_empty() || NON_STRING.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(v: serde_json::Value) -> Result<String, String> {
        super::render(&PyValue::from(&v))
    }

    macro_rules! json {
        ($($t:tt)+) => {
            serde_json::json!($($t)+)
        };
    }

    #[test]
    fn block_style_sorted_keys_and_indentless_sequences() {
        let data = json!({"roles": ["a", "b"], "name": "x", "empty": [], "obj": {}, "n": null, "t": true, "i": 3});
        assert_eq!(
            render(data).unwrap(),
            "empty: []\ni: 3\nn: null\nname: x\nobj: {}\nroles:\n- a\n- b\nt: true\n"
        );
    }

    #[test]
    fn a_list_of_objects_nests_like_pyyaml() {
        let data = json!([{"apiGroups": [""], "verbs": ["*"], "resources": ["pods"]}]);
        assert_eq!(
            render(data).unwrap(),
            "- apiGroups:\n  - ''\n  resources:\n  - pods\n  verbs:\n  - '*'\n"
        );
    }

    #[test]
    fn strings_that_would_read_back_as_other_types_are_single_quoted() {
        for s in [
            "yes",
            "Off",
            "123",
            "0x1F",
            "1:20",
            "1.5",
            ".inf",
            "null",
            "~",
            "",
            "2024-01-01",
            "2024-01-01T00:00:00+00:00",
            "2026-11-22T10:42:08.636000+00:00",
            "<<",
            "=",
        ] {
            let out = render(json!({"k": s})).unwrap();
            assert!(out.starts_with("k: '"), "{s:?} → {out}");
        }
        for s in [
            "westeurope",
            "Microsoft.Compute/virtualMachineScaleSets",
            "y",
            "n",
            "1.2.3",
            "v1",
            "/subscriptions/x",
        ] {
            let out = render(json!({"k": s})).unwrap();
            assert_eq!(out, format!("k: {s}\n"), "{s:?}");
        }
    }

    #[test]
    fn indicators_and_spaces_get_quoted_as_pyyaml_does() {
        assert_eq!(render(json!({"k": "- x"})).unwrap(), "k: '- x'\n");
        assert_eq!(render(json!({"k": "a: b"})).unwrap(), "k: 'a: b'\n");
        assert_eq!(render(json!({"k": " lead"})).unwrap(), "k: ' lead'\n");
        assert_eq!(render(json!({"k": "it's"})).unwrap(), "k: it's\n");
        assert_eq!(render(json!({"k": "é"})).unwrap(), "k: é\n");
    }

    #[test]
    fn colour_only_wraps_keys() {
        let text = render(json!([{"a": ["x"], "b": "c: d"}])).unwrap();
        let coloured = colorize(&text);
        assert!(coloured.contains("- \x1b[94ma\x1b[0m:\n"));
        assert_eq!(
            coloured.replace("\x1b[94m", "").replace("\x1b[0m", ""),
            text
        );
    }

    #[test]
    fn a_plain_scalar_document_is_open_ended_like_pyyaml() {
        assert_eq!(render(json!("abc")).unwrap(), "abc\n...\n");
        assert_eq!(render(json!(3)).unwrap(), "3\n...\n");
        assert_eq!(render(json!("yes")).unwrap(), "'yes'\n");
    }

    #[test]
    fn numbers_render_like_python() {
        assert_eq!(
            render(json!({"f": 1.5, "i": -2, "e": 1e16, "s": 1e-5})).unwrap(),
            "e: 1.0e+16\nf: 1.5\ni: -2\ns: 1.0e-05\n"
        );
    }
}
